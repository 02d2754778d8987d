/**
 * The whole local system as processes: backing services (restate-server, PostgreSQL, Valkey, the
 * SMTP catcher), migrations, then the worker (registered) and the web. Shared by `npm run dev`,
 * the test harness and the benchmarks; each caller picks ports and a data folder.
 */
import { copyFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { runMigrations } from "../../migrations/runner.ts";
import type { Logger } from "../../shared/logger.ts";
import { startMailCatcher, type MailCatcher } from "./mail-catcher.ts";
import { ownsServer, startPostgres, type PostgresDatabase, type PostgresOptions } from "./postgres.ts";
import { freePort, httpOk, startProcess, tcpOpen, waitFor, type Managed } from "./processes.ts";
import { startRestate, type RestateHandle } from "./restate.ts";
import { ensureSystemPrograms } from "./system-packages.ts";
import { startValkey } from "./valkey.ts";
import { startValkeyCluster, type ValkeyCluster } from "./valkey-cluster.ts";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** Node flags that start tracing before web or worker load their libraries (a no-op without an OTLP endpoint). */
export const TELEMETRY_PRELOAD = [`--import=${new URL("../../shared/telemetry-register.ts", import.meta.url).href}`];

export interface StackPorts {
  web: number;
  worker: number;
  ingress: number;
  admin: number;
  restateNode: number;
  postgres: number;
  valkey: number;
  smtp: number;
  mailUi: number;
  /** Operations ports (metrics, worker probes); the processes' defaults (9464, 9465) when absent. */
  webMetrics?: number;
  workerMetrics?: number;
}

/** The well-known ports: `npm run dev` and `npm run services` use them unless a DEV_*_PORT says otherwise. */
export const DEFAULT_PORTS: Required<StackPorts> = {
  web: 3000,
  worker: 9080,
  ingress: 8080,
  admin: 9070,
  restateNode: 5122,
  postgres: 5432,
  valkey: 6379,
  smtp: 1025,
  mailUi: 1080,
  webMetrics: 9464,
  workerMetrics: 9465,
};

/** A free port for every process of one stack (tests and the bench run stacks side by side). */
export async function allocatePorts(): Promise<StackPorts> {
  return {
    web: await freePort(),
    worker: await freePort(),
    ingress: await freePort(),
    admin: await freePort(),
    restateNode: await freePort(),
    postgres: await freePort(),
    valkey: await freePort(),
    smtp: await freePort(),
    mailUi: await freePort(),
    webMetrics: await freePort(),
    workerMetrics: await freePort(),
  };
}

export interface BackingServices {
  restate: RestateHandle;
  /** Its own server, or a database of its own on a shared server (the test suite's). */
  postgres: PostgresDatabase;
  /** The Valkey server, or in cluster mode every node of the cluster as one handle. */
  valkey: Managed;
  mail: MailCatcher;
  /** The server (single mode) or one seed node (cluster mode). */
  valkeyUrl: string;
  /** Present in cluster mode: its nodes, its seed list (`VALKEY_CLUSTER_NODES`) and failover helpers. */
  valkeyCluster?: ValkeyCluster;
  stop(): Promise<void>;
}

/** Single primary (the default) or a cluster of three primaries and three replicas. */
export type ValkeyMode = "single" | "cluster";

/** The mode the project's scripts and tests start Valkey in: `VALKEY_MODE=cluster` switches them all. */
export function valkeyModeFromEnv(env: NodeJS.ProcessEnv = process.env): ValkeyMode {
  const mode = env.VALKEY_MODE ?? "single";
  if (mode !== "single" && mode !== "cluster") throw new Error(`VALKEY_MODE must be "single" or "cluster", not "${mode}"`);
  return mode;
}

// Where each service keeps its data and log inside a stack's data folder: the same on a restart.
const restateOptions = (ports: StackPorts, dataDir: string) => ({
  ports: { ingress: ports.ingress, admin: ports.admin, node: ports.restateNode },
  baseDir: path.join(dataDir, "restate"),
  logFile: path.join(dataDir, "restate.log"),
});
const postgresOptions = (ports: StackPorts, dataDir: string, fast: boolean): PostgresOptions => ({
  port: ports.postgres,
  dataDir: path.join(dataDir, "postgres"),
  logFile: path.join(dataDir, "postgres.log"),
  database: "quayside",
  user: "quayside",
  fast,
});
const valkeyOptions = (ports: StackPorts, dataDir: string) => ({
  port: ports.valkey,
  dataDir: path.join(dataDir, "valkey"),
  logFile: path.join(dataDir, "valkey.log"),
});

/**
 * Stops one backing service (gracefully, or with SIGKILL) and starts it again on the same ports
 * and data: the chaos run and the durability tests. `services` is updated in place.
 */
export async function restartService(
  services: BackingServices,
  which: "restate" | "postgres" | "valkey",
  opts: {
    ports: StackPorts;
    dataDir: string;
    kill?: boolean;
    fast?: boolean;
    /** How long it stays down, after `onDown` is told it is. */
    downMs?: number;
    onDown?: () => void;
    /** Checked before starting it again: a harness that is shutting down starts nothing. */
    stopping?: () => boolean;
  },
): Promise<void> {
  const current = services[which];
  if (which === "valkey" && services.valkeyCluster)
    throw new Error("a Valkey cluster is not restarted as a whole: kill one primary and let its replica take over instead");
  if (which === "postgres" && !ownsServer(services.postgres))
    throw new Error("this stack's database lives on a shared server: start the stack with a PostgreSQL of its own to restart it");
  await (opts.kill ? current.kill() : current.stop());
  opts.onDown?.();
  if (opts.downMs) await new Promise((r) => setTimeout(r, opts.downMs));
  if (opts.stopping?.()) return;
  if (which === "restate") services.restate = await startRestate(restateOptions(opts.ports, opts.dataDir));
  else if (which === "postgres")
    services.postgres = await startPostgres(postgresOptions(opts.ports, opts.dataDir, opts.fast ?? true));
  else services.valkey = await startValkey(valkeyOptions(opts.ports, opts.dataDir));
}

/** Copies the backing services' logs from a (temporary) data folder next to the app logs, for reading a failed run. */
export function keepServiceLogs(dataDir: string, logDir: string, names = ["restate", "postgres", "valkey"]): void {
  let files: string[];
  try {
    files = readdirSync(dataDir);
  } catch {
    return; // nothing started, nothing logged
  }
  // `<name>.log`, or one log per node (`valkey-<port>.log`) where a service runs as a cluster.
  for (const file of files.filter((f) => names.some((n) => new RegExp(`^${n}(-\\d+)?\\.log$`).test(f)))) {
    try {
      copyFileSync(path.join(dataDir, file), path.join(logDir, file));
    } catch {
      // removed meanwhile
    }
  }
}

/** A small pool for a harness that reads the database from outside; connections cut by a restart are expected. */
export function observerPool(url: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  pool.on("error", () => undefined);
  pool.on("connect", (client) => client.on("error", () => undefined));
  return pool;
}

/** True once Restate's admin API (any node's) knows the worker's services. */
export async function workerServicesKnown(adminUrl: string): Promise<boolean> {
  const res = await fetch(`${adminUrl}/services/OrderFulfilment`, { signal: AbortSignal.timeout(1_000) });
  await res.body?.cancel();
  return res.ok;
}

export async function startBackingServices(opts: {
  ports: StackPorts;
  dataDir: string;
  fast?: boolean;
  logger: Logger;
  /** A database on a server that is already running, instead of starting one. */
  database?: () => Promise<PostgresDatabase>;
  /** "single" by default; "cluster" starts three primaries and three replicas on free ports. */
  valkey?: ValkeyMode;
}): Promise<BackingServices> {
  const { ports, dataDir } = opts;
  // Before anything starts: installing a missing server can take a minute.
  await ensureSystemPrograms(["postgres", "valkey"]);
  // Start all four at once; if any fails, stop the ones that did start before reporting it.
  const results = await Promise.allSettled([
    startRestate(restateOptions(ports, dataDir)),
    opts.database ? opts.database() : startPostgres(postgresOptions(ports, dataDir, opts.fast ?? false)),
    opts.valkey === "cluster"
      ? startValkeyCluster({ dataDir: path.join(dataDir, "valkey-cluster"), logDir: dataDir })
      : startValkey(valkeyOptions(ports, dataDir)),
    startMailCatcher({ smtpPort: ports.smtp, uiPort: ports.mailUi }),
  ]);
  const [restate, postgres, valkey, mail] = results;
  if (
    restate.status === "rejected" ||
    postgres.status === "rejected" ||
    valkey.status === "rejected" ||
    mail.status === "rejected"
  ) {
    await Promise.allSettled([
      restate.status === "fulfilled" ? restate.value.stop() : null,
      postgres.status === "fulfilled" ? postgres.value.stop() : null,
      valkey.status === "fulfilled" ? ("managed" in valkey.value ? valkey.value.managed : valkey.value).stop() : null,
      mail.status === "fulfilled" ? mail.value.close() : null,
    ]);
    const reasons = results.flatMap((r) =>
      r.status === "rejected" ? [r.reason instanceof Error ? r.reason.message : String(r.reason)] : [],
    );
    throw new Error(`could not start the backing services:\n  ${reasons.join("\n  ")}`);
  }
  const cluster = "managed" in valkey.value ? valkey.value : undefined;
  const services: BackingServices = {
    restate: restate.value,
    postgres: postgres.value,
    valkey: cluster ? cluster.managed : (valkey.value as Managed),
    mail: mail.value,
    valkeyUrl: `redis://127.0.0.1:${cluster ? cluster.nodes[0]!.port : ports.valkey}`,
    ...(cluster ? { valkeyCluster: cluster } : {}),
    async stop() {
      await Promise.allSettled([
        services.mail.close(),
        services.valkey.stop(),
        services.postgres.stop(),
        services.restate.stop(),
      ]);
    },
  };
  try {
    await runMigrations(services.postgres.url, opts.logger);
  } catch (err) {
    await services.stop();
    throw err;
  }
  return services;
}

/** A clean environment for the worker and web of a stack: its addresses, the dev profile, and `extra`. */
export function appEnv(ports: StackPorts, services: BackingServices, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    APP_PROFILE: "dev",
    ...stackAddresses(ports, services),
    ...extra,
  };
}

/** Where the worker and web find the services of a stack, and where they themselves listen. */
export function stackAddresses(ports: StackPorts, services: BackingServices): NodeJS.ProcessEnv {
  return {
    DATABASE_URL: services.postgres.url,
    VALKEY_URL: services.valkeyUrl,
    ...(services.valkeyCluster ? { VALKEY_CLUSTER_NODES: services.valkeyCluster.seeds } : {}),
    RESTATE_INGRESS_URL: services.restate.ingressUrl,
    RESTATE_ADMIN_URL: services.restate.adminUrl,
    RESTATE_UI_URL: services.restate.adminUrl,
    // The worker accepts only requests signed by this stack's restate-server.
    RESTATE_IDENTITY_KEYS: services.restate.identityKey,
    WORKER_PORT: String(ports.worker),
    WORKER_HOST: "127.0.0.1",
    WORKER_PUBLIC_URL: `http://127.0.0.1:${ports.worker}`,
    WEB_PORT: String(ports.web),
    PUBLIC_WEB_URL: `http://127.0.0.1:${ports.web}`,
    SMTP_HOST: "127.0.0.1",
    SMTP_PORT: String(ports.smtp),
    SMTP_TLS: "none",
    MAIL_UI_URL: services.mail.uiUrl,
    ...(ports.webMetrics !== undefined ? { WEB_METRICS_PORT: String(ports.webMetrics) } : {}),
    ...(ports.workerMetrics !== undefined ? { WORKER_METRICS_PORT: String(ports.workerMetrics) } : {}),
    OPS_HOST: "127.0.0.1",
  };
}

export async function startWorker(opts: {
  env: NodeJS.ProcessEnv;
  adminUrl: string;
  output: string;
  /**
   * "registration" (default): listening, and its services known to Restate (on a restart they
   * already are). "listening": its own port accepts connections (it registers elsewhere, or
   * already is registered).
   */
  ready?: "registration" | "listening";
  /** Another build of the worker (a release under test); this checkout by default. */
  root?: string;
}): Promise<Managed> {
  const root = opts.root ?? ROOT;
  const proc = startProcess({
    name: "worker",
    command: process.execPath,
    args: [...TELEMETRY_PRELOAD, path.join(root, "worker/main.ts")],
    cwd: root,
    env: opts.env,
    output: opts.output,
  });
  const port = Number(opts.env.WORKER_PORT ?? 9080);
  await stopIfNotReady(proc, async () => {
    await waitFor("worker endpoint", () => tcpOpen(port), { proc, timeoutMs: 60_000, intervalMs: 25 });
    if ((opts.ready ?? "registration") === "registration") {
      await waitFor("worker registration", () => workerServicesKnown(opts.adminUrl), {
        proc,
        timeoutMs: 60_000,
        intervalMs: 100,
      });
    }
  });
  return proc;
}

export async function startWeb(opts: { env: NodeJS.ProcessEnv; port: number; output: string }): Promise<Managed> {
  const proc = startProcess({
    name: "web",
    command: process.execPath,
    args: [...TELEMETRY_PRELOAD, path.join(ROOT, "web/main.ts")],
    cwd: ROOT,
    env: opts.env,
    output: opts.output,
  });
  await stopIfNotReady(proc, () =>
    waitFor("web", () => httpOk(`http://127.0.0.1:${opts.port}/ready`), { proc, timeoutMs: 60_000, intervalMs: 100 }),
  );
  return proc;
}

/** A process that never became ready is not left running behind the error. */
async function stopIfNotReady(proc: Managed, ready: () => Promise<void>): Promise<void> {
  try {
    await ready();
  } catch (err) {
    await proc.stop(2_000);
    throw err;
  }
}
