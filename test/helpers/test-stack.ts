/**
 * A throwaway system for one test file: restate-server, PostgreSQL, Valkey and the SMTP catcher
 * on free ports, migrations applied, the worker running and registered. Logs go to
 * test-results/<name>/; everything is stopped (by pid) in `stop()`, which tests call from `after`.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type pg from "pg";
import { createLogger } from "../../shared/logger.ts";
import type { Managed } from "../../scripts/stack/processes.ts";
import {
  allocatePorts,
  appEnv,
  keepServiceLogs,
  observerPool,
  restartService,
  ROOT,
  startBackingServices,
  startWeb,
  startWorker,
  type BackingServices,
  type StackPorts,
  type ValkeyMode,
  valkeyModeFromEnv,
} from "../../scripts/stack/stack.ts";
import { sharedDatabase } from "./shared-postgres.ts";

export interface TestStack {
  ports: StackPorts;
  services: BackingServices;
  env: NodeJS.ProcessEnv;
  db: pg.Pool;
  logDir: string;
  worker: Managed | null;
  web: Managed | null;
  webUrl: string;
  startWorker(): Promise<Managed>;
  startWeb(): Promise<Managed>;
  /** Stops restate-server (gracefully, or with SIGKILL) and starts it again on the same data and ports. */
  restartRestate(opts?: { kill?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

const live = new Set<TestStack>();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void Promise.allSettled([...live].map((s) => s.stop())).then(() => process.exit(130));
  });
}

export async function startTestStack(
  name: string,
  opts: {
    worker?: boolean;
    web?: boolean;
    env?: NodeJS.ProcessEnv;
    /** A PostgreSQL server of its own (to stop or restart it), not a database on the suite's shared one. */
    ownPostgres?: boolean;
    /** One Valkey server or a cluster (3 primaries, 3 replicas); VALKEY_MODE in the test's environment by default. */
    valkey?: ValkeyMode;
  } = {},
): Promise<TestStack> {
  const ports: StackPorts = await allocatePorts();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `quayside-${name}-`));
  chmodSync(dataDir, 0o755); // PostgreSQL runs as the postgres user when the tests run as root
  const logDir = path.join(ROOT, "test-results", name);
  rmSync(logDir, { recursive: true, force: true });
  mkdirSync(logDir, { recursive: true });
  const logger = createLogger({ name: "test-stack", level: "warn", format: "json" });
  const database = opts.ownPostgres ? undefined : sharedDatabase(name);
  const services = await startBackingServices({
    ports,
    dataDir,
    fast: true,
    logger,
    valkey: opts.valkey ?? valkeyModeFromEnv(),
    ...(database ? { database } : {}),
  });
  // Short waits and generous limits by default; a test that is about them sets its own.
  const env = appEnv(ports, services, {
    LOG_LEVEL: "debug",
    SHIPPING_DELAY_MS: "200",
    ORDER_RATE_LIMIT_PER_MINUTE: "1000",
    ...opts.env,
  });
  const db = observerPool(services.postgres.url);

  let stopped = false;
  const stack: TestStack = {
    ports,
    services,
    env,
    db,
    logDir,
    worker: null,
    web: null,
    webUrl: `http://127.0.0.1:${ports.web}`,
    async startWorker() {
      stack.worker = await startWorker({ env, adminUrl: services.restate.adminUrl, output: path.join(logDir, "worker.log") });
      return stack.worker;
    },
    async startWeb() {
      stack.web = await startWeb({ env, port: ports.web, output: path.join(logDir, "web.log") });
      return stack.web;
    },
    async restartRestate(o = {}) {
      await restartService(services, "restate", { ports, dataDir, kill: o.kill ?? false });
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      live.delete(stack);
      await Promise.allSettled([stack.web?.stop(5_000), stack.worker?.stop(5_000)]);
      await db.end().catch(() => undefined);
      await services.stop();
      keepServiceLogs(dataDir, logDir);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  live.add(stack);
  try {
    if (opts.worker ?? true) await stack.startWorker();
    if (opts.web) await stack.startWeb();
  } catch (err) {
    await stack.stop();
    throw err;
  }
  return stack;
}
