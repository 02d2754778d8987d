/**
 * The stack the bench measures: backing services on free ports, the worker and the web with the
 * bench's settings, the raw Restate endpoint registered beside them, stock for every order. Every
 * process goes through `Owned`, so one cleanup stops it all on success, failure, Ctrl+C or the
 * overall time limit.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { createLogger } from "../../shared/logger.ts";
import { ownsServer } from "../stack/postgres.ts";
import { startOtlpSink } from "../stack/otlp-sink.ts";
import { freePort, startProcess, tcpOpen, waitFor, type Managed } from "../stack/processes.ts";
import {
  allocatePorts,
  appEnv,
  ROOT,
  startBackingServices,
  startWeb,
  startWorker,
  type BackingServices,
  type StackPorts,
} from "../stack/stack.ts";
import type { BenchKnobs } from "./knobs.ts";
import type { Targets } from "./orders.scenario.ts";

export interface BenchDirs {
  results: string;
  logs: string;
  profiles: string;
  /** The stack's temporary data folder, removed by the cleanup. */
  data: string;
}

/** bench-results/ with this run's logs (the last run's removed) and profiles, and a fresh data folder. */
export function benchDirs(): BenchDirs {
  const results = path.join(ROOT, "bench-results");
  const logs = path.join(results, "logs");
  rmSync(logs, { recursive: true, force: true });
  mkdirSync(logs, { recursive: true });
  const profiles = path.join(results, "profiles");
  mkdirSync(profiles, { recursive: true });
  const data = mkdtempSync(path.join(os.tmpdir(), "quayside-bench-"));
  chmodSync(data, 0o755); // PostgreSQL runs as the postgres user when root
  return { results, logs, profiles, data };
}

/** What the bench has started and must stop. */
export interface Owned {
  track: (p: Managed) => Managed;
  /** Stopped after the processes, in the order they were added. */
  onCleanup: (stop: () => Promise<void>) => void;
  /** Stops everything once, however often it is called. */
  cleanup: () => Promise<void>;
}

export function owned(dataDir: string): Owned {
  const procs = new Set<Managed>();
  const stops: Array<() => Promise<void>> = [];
  let cleaning: Promise<void> | null = null;
  return {
    track: (p) => {
      procs.add(p);
      void p.exited.then(() => procs.delete(p));
      return p;
    },
    onCleanup: (stop) => void stops.push(stop),
    cleanup: () => {
      cleaning ??= (async () => {
        await Promise.allSettled([...procs].map((p) => p.stop(10_000)));
        for (const stop of stops) await stop();
        rmSync(dataDir, { recursive: true, force: true });
      })();
      return cleaning;
    },
  };
}

/** The running stack. The app processes change when a scenario restarts them; read them from here. */
export interface BenchStack {
  ports: StackPorts;
  services: BackingServices;
  targets: Targets;
  /** Every product's SKU, in order. */
  skus: string[];
  worker: Managed;
  web: Managed;
  noop: Managed;
  workerEnv: NodeJS.ProcessEnv;
  webEnv: (extra?: NodeJS.ProcessEnv) => NodeJS.ProcessEnv;
  track: (p: Managed) => Managed;
  startNoop: () => Managed;
  /** A fresh web process, its log in `web.log`. */
  restartWeb: (extra?: NodeJS.ProcessEnv) => Promise<void>;
  /** The worker and the web with `extra` in their environment, logging to `<app>-<label>.log`. */
  restartApps: (extra: NodeJS.ProcessEnv, label: string) => Promise<void>;
  /** The processes whose CPU the scenarios measure. */
  pids: () => Record<string, number | undefined>;
}

/** The settings every scenario runs the apps with: nothing the bench drives may be held back by a limit or a wait. */
const APP_SETTINGS = {
  LOG_LEVEL: "info",
  SHIPPING_DELAY_MS: "0",
  APPROVAL_THRESHOLD_CENTS: "2000000000",
  ORDER_RATE_LIMIT_PER_MINUTE: "1000000000",
  SSE_MAX_PER_SESSION: "1000000",
  SSE_MAX_PER_IP: "1000000",
};

export async function startBenchStack(
  knobs: BenchKnobs,
  dirs: BenchDirs,
  own: Owned,
  say: (msg: string) => void,
): Promise<BenchStack> {
  const ports: StackPorts = await allocatePorts();
  say("starting the stack");
  const logger = createLogger({ name: "bench", level: "warn", format: "json" });
  const services = await startBackingServices({ ports, dataDir: dirs.data, logger });
  own.onCleanup(() => services.stop());
  // Spans are exported for real (serialised, sent over HTTP) and dropped by the sink: the cost measured is ours.
  const otlpSink = knobs.BENCH_TRACING ? await startOtlpSink({ keepSpans: false }) : null;
  if (otlpSink) own.onCleanup(() => otlpSink.close());
  const env = appEnv(ports, services, { ...APP_SETTINGS, ...(otlpSink ? { OTEL_EXPORTER_OTLP_ENDPOINT: otlpSink.url } : {}) });
  const { workerEnv, webEnv } = appEnvs(knobs, dirs, env);
  const log = (name: string) => path.join(dirs.logs, name);
  const adminUrl = services.restate.adminUrl;
  const worker = own.track(await startWorker({ env: workerEnv, adminUrl, output: log("worker.log") }));
  const web = own.track(await startWeb({ env: webEnv(), port: ports.web, output: log("web.log") }));

  const noopPort = await freePort();
  const startNoop = () => own.track(noopEndpoint(noopPort, log("noop-endpoint.log")));
  const noop = startNoop();
  await registerNoop(noop, noopPort, adminUrl);
  const skus = await stockEverything(services.postgres.url);
  return runningStack({ ports, services, skus, worker, web, noop, workerEnv, webEnv, startNoop, track: own.track }, log);
}

/** The worker's and the web's environments: the app's, with the profiling the knobs ask for. */
function appEnvs(knobs: BenchKnobs, dirs: BenchDirs, env: NodeJS.ProcessEnv): Pick<BenchStack, "workerEnv" | "webEnv"> {
  const prof = (name: string) =>
    knobs.BENCH_CPU_PROF
      ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${dirs.profiles} --cpu-prof-name=${name}-\${pid}.cpuprofile` }
      : {};
  return {
    workerEnv: { ...env, ...prof("worker") },
    webEnv: (extra: NodeJS.ProcessEnv = {}) => ({
      ...env,
      ...prof("web"),
      ...(knobs.BENCH_HEAP_SNAPSHOT ? { NODE_OPTIONS: `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${dirs.profiles}` } : {}),
      ...extra,
    }),
  };
}

type Started = Omit<BenchStack, "targets" | "restartWeb" | "restartApps" | "pids">;

/** The stack as the scenarios use it: restarts replace its app processes, `pids` reads the current ones. */
function runningStack(started: Started, log: (name: string) => string): BenchStack {
  const { ports, services, workerEnv, webEnv, track } = started;
  const adminUrl = services.restate.adminUrl;
  const stack: BenchStack = {
    ...started,
    targets: { webUrl: `http://127.0.0.1:${ports.web}`, ingressUrl: services.restate.ingressUrl, skus: started.skus },
    restartWeb: async (extra = {}) => {
      await stack.web.stop(15_000);
      stack.web = track(await startWeb({ env: webEnv(extra), port: ports.web, output: log("web.log") }));
    },
    restartApps: async (extra, label) => {
      await Promise.all([stack.worker.stop(10_000), stack.web.stop(10_000)]);
      const output = log(`worker-${label}.log`);
      stack.worker = track(await startWorker({ env: { ...workerEnv, ...extra }, adminUrl, output }));
      stack.web = track(await startWeb({ env: webEnv(extra), port: ports.web, output: log(`web-${label}.log`) }));
    },
    pids: () => ({
      "restate-server": services.restate.child.pid,
      worker: stack.worker.child.pid,
      web: stack.web.child.pid,
      postgres: ownsServer(services.postgres) ? services.postgres.child.pid : undefined,
      valkey: services.valkey.child.pid,
      "raw endpoint": stack.noop.child.pid,
      "bench client": process.pid,
    }),
  };
  return stack;
}

/** The raw Restate baseline (noop-endpoint.ts), served on `port`. */
function noopEndpoint(port: number, output: string): Managed {
  return startProcess({
    name: "bench-noop",
    command: process.execPath,
    args: [path.join(ROOT, "scripts/bench/noop-endpoint.ts")],
    cwd: ROOT,
    env: { PATH: process.env.PATH, BENCH_NOOP_PORT: String(port) },
    output,
  });
}

async function registerNoop(noop: Managed, port: number, adminUrl: string): Promise<void> {
  await waitFor("raw endpoint", () => tcpOpen(port), { proc: noop, timeoutMs: 30_000, intervalMs: 50 });
  const reg = await fetch(`${adminUrl}/deployments`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ uri: `http://127.0.0.1:${port}`, force: true }),
  });
  if (!reg.ok) throw new Error(`registering the raw endpoint: ${reg.status} ${await reg.text()}`);
}

/** Bench fixture: stock for every order the run places. Returns every SKU, in order. */
async function stockEverything(databaseUrl: string): Promise<string[]> {
  const db = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  await db.query("UPDATE products SET stock = 1000000000");
  const skus = (await db.query<{ sku: string }>("SELECT sku FROM products ORDER BY sku")).rows.map((r) => r.sku);
  await db.end();
  return skus;
}
