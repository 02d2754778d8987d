/**
 * `npm run bench`: starts its own stack (free ports, temporary data folder), runs each scenario
 * beside its raw-Restate baseline measured in the same run, prints markdown tables and writes them
 * (and the JSON) to bench-results/. It never fails on the targets; it stops by itself. It fails
 * (exit 1) when the flash sale sells a different number of units than it has, or a unit twice.
 *
 * Knobs (environment): BENCH_DURATION_MS per load step (8000), BENCH_SSE_CLIENTS (see README),
 * BENCH_SSE_ORDERS (1000), BENCH_SSE_RATE events/s (200), BENCH_SSE_SECONDS (10),
 * BENCH_SSE_NAIVE_CLIENTS (naive-design comparison load), BENCH_SSE_LARGE_CLIENTS (30000; 0 = off),
 * BENCH_STORM_CLIENTS (10000),
 * BENCH_FLASH_BUYERS (5000), BENCH_FLASH_UNITS (1000), BENCH_FLASH_CONCURRENCY (256), BENCH_FLASH_SKU (the
 * first product by SKU), BENCH_FLASH_PRODUCTS (products the spread phase shares the units over; 0 = all),
 * BENCH_ONLY=orders,checkout,ingest,sse,storm,startup,flash,
 * BENCH_CPU_PROF=1 (web and worker write --cpu-prof profiles to bench-results/profiles/),
 * BENCH_PEERS=plain,dbos (the baselines beside the orders; "none" skips them),
 * BENCH_TRACING=1 (web and worker export traces to a local OTLP sink, to compare tracing on and off).
 */
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import pg from "pg";
import { createLogger } from "../../shared/logger.ts";
import { connectValkey, type ValkeyClient } from "../../shared/valkey-client.ts";
import { startValkeyCluster } from "../stack/valkey-cluster.ts";
import { findPostgresBin, ownsServer } from "../stack/postgres.ts";
import { startOtlpSink, type OtlpSink } from "../stack/otlp-sink.ts";
import { freePort, startProcess, tcpOpen, waitFor, type Managed } from "../stack/processes.ts";
import {
  allocatePorts,
  appEnv,
  ROOT,
  TELEMETRY_PRELOAD,
  startBackingServices,
  startWeb,
  startWorker,
  type BackingServices,
  type StackPorts,
} from "../stack/stack.ts";
import { startFakeStripe } from "../stack/local-stripe/server.ts";
import { checkoutOrders } from "./checkout.scenario.ts";
import { withCpu } from "./cpu.ts";
import { countWork, perOrder, streamBytes } from "./work-count.ts";
import { flashSale } from "./flash-sale.scenario.ts";
import { accountOrders, type OrderSample } from "./order-account.ts";
import { formIngest, ordersEndToEnd, rawIngest, rawWorkflows, type Targets } from "./orders.scenario.ts";
import type { BaselineRun, BenchResults } from "./bench-results.ts";
import { renderMarkdown } from "./report.ts";
import type { LoadResult } from "./stats.ts";
import { sseFanout } from "./sse-fanout.scenario.ts";
import { sseStorm } from "./sse-storm.scenario.ts";
import { devStartup, restartUntilServing } from "./startup.scenario.ts";

const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const DURATION_MS = num("BENCH_DURATION_MS", 8_000);
const SSE_CLIENTS = num("BENCH_SSE_CLIENTS", 10_000);
const SSE_NAIVE_CLIENTS = Math.min(SSE_CLIENTS, num("BENCH_SSE_NAIVE_CLIENTS", 2_000));
/** The large fan-out beside the default one (0 leaves it out); run when the descriptor limits allow it. */
const SSE_LARGE_CLIENTS = num("BENCH_SSE_LARGE_CLIENTS", 30_000);
const SSE_ORDERS = num("BENCH_SSE_ORDERS", 1_000);
const SSE_RATE = num("BENCH_SSE_RATE", 200);
const SSE_SECONDS = num("BENCH_SSE_SECONDS", 10);
/** After publishing, every stream stays open this long with nothing published: what the quiet check costs. */
const SSE_IDLE_SECONDS = num("BENCH_SSE_IDLE_SECONDS", 20);
/** The same fan-out on a Valkey Cluster (three primaries, three replicas) and with the quiet check off (0 leaves each out). */
const SSE_CLUSTER = num("BENCH_SSE_CLUSTER", 1) > 0;
const SSE_QUIET_OFF = num("BENCH_SSE_QUIET_OFF", 1) > 0;
/** The same-run baselines beside the orders: `plain` (the work without durability), `dbos`; "none" skips both. */
const PEERS = new Set((process.env.BENCH_PEERS ?? "plain,dbos").split(",").map((s) => s.trim()));
const STORM_CLIENTS = num("BENCH_STORM_CLIENTS", 10_000);
const FLASH_BUYERS = num("BENCH_FLASH_BUYERS", 5_000);
const FLASH_UNITS = num("BENCH_FLASH_UNITS", 1_000);
const FLASH_CONCURRENCY = num("BENCH_FLASH_CONCURRENCY", 256);
const FLASH_PRODUCTS = num("BENCH_FLASH_PRODUCTS", 0);
const ONLY = new Set(
  (process.env.BENCH_ONLY ?? "startup,orders,checkout,sse,storm,flash,ingest").split(",").map((s) => s.trim()),
);
const CPU_PROF = process.env.BENCH_CPU_PROF === "1";
const HEAP_SNAPSHOT = process.env.BENCH_HEAP_SNAPSHOT === "1";
const TIMEOUT_MS = num("BENCH_TIMEOUT_MS", 9.5 * 60_000);
const TRACING = process.env.BENCH_TRACING === "1";

const logger = createLogger({ name: "bench", level: "warn", format: "json" });
const say = (msg: string) => process.stderr.write(`[bench +${((performance.now() - t0) / 1000).toFixed(0)}s] ${msg}\n`);
const t0 = performance.now();
const resultsDir = path.join(ROOT, "bench-results");
const logDir = path.join(resultsDir, "logs");
rmSync(logDir, { recursive: true, force: true });
mkdirSync(logDir, { recursive: true });
const profDir = path.join(resultsDir, "profiles");
mkdirSync(profDir, { recursive: true });

/** A process's soft limit on open files (/proc/<pid>/limits). */
function openFileLimit(pid: number): number {
  const line = readFileSync(`/proc/${pid}/limits`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("Max open files"));
  const soft = line?.split(/\s{2,}/)[1];
  return soft === "unlimited" ? Number.POSITIVE_INFINITY : Number(soft ?? 0);
}

/** Asks the web for a heap snapshot (--heapsnapshot-signal) and waits until it is written. */
async function heapSnapshot(web: Managed): Promise<void> {
  const before = new Set(readdirSync(profDir));
  web.child.kill("SIGUSR2");
  await waitFor(
    "heap snapshot",
    () => Promise.resolve(readdirSync(profDir).some((f) => !before.has(f) && f.endsWith(".heapsnapshot"))),
    {
      timeoutMs: 120_000,
      intervalMs: 500,
    },
  );
  await sleep(3_000);
}

const version = (cmd: string, args: string[]) => {
  try {
    return execFileSync(cmd, args, { encoding: "utf8" }).trim().split("\n")[0] ?? "?";
  } catch {
    return "?";
  }
};
const results: BenchResults = {
  startedAt: new Date().toISOString(),
  machine: {
    cpu: `${os.cpus()[0]?.model.trim() ?? "?"} × ${os.availableParallelism()}`,
    memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    postgres: version(path.join(findPostgresBin(), "postgres"), ["--version"]),
    valkey: version("sh", ["-c", "valkey-server --version 2>/dev/null || redis-server --version"]).split(" sha=")[0] ?? "?",
    "restate-server": JSON.parse(readFileSync(path.join(ROOT, "node_modules/@restatedev/restate-server/package.json"), "utf8"))
      .version,
  },
  settings: {
    durationPerStepMs: DURATION_MS,
    sseClients: SSE_CLIENTS,
    sseNaiveClients: SSE_NAIVE_CLIENTS,
    sseOrders: SSE_ORDERS,
    sseEventsPerSecond: SSE_RATE,
    sseSeconds: SSE_SECONDS,
    logLevel: "info",
    tracing: TRACING ? "on (OTLP to a local sink)" : "off",
  },
};

// Everything started here is stopped here, on success, failure, Ctrl+C or the overall time limit.
const dataDir = mkdtempSync(path.join(os.tmpdir(), "quayside-bench-"));
chmodSync(dataDir, 0o755); // PostgreSQL runs as the postgres user when root
let services: BackingServices | null = null;
let otlpSink: OtlpSink | null = null;
const procs = new Set<Managed>();
let cleaning: Promise<void> | null = null;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await Promise.allSettled([...procs].map((p) => p.stop(10_000)));
    await services?.stop();
    await otlpSink?.close();
    rmSync(dataDir, { recursive: true, force: true });
  })();
  return cleaning;
}
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void cleanup().then(() => process.exit(130)));
setTimeout(() => {
  say(`overall time limit (${TIMEOUT_MS} ms) reached: stopping`);
  void cleanup().then(() => process.exit(2));
}, TIMEOUT_MS).unref();

function track(p: Managed): Managed {
  procs.add(p);
  void p.exited.then(() => procs.delete(p));
  return p;
}

async function main(): Promise<void> {
  if (ONLY.has("startup")) {
    say("start-up: npm run dev (cold, warm) on free ports, restate-server alone");
    results.startup = { ...(await devStartup(logDir)), workerServingMs: NaN, workerRegisteredMs: NaN, rawEndpointServingMs: NaN };
  }

  const ports: StackPorts = await allocatePorts();
  say("starting the stack");
  services = await startBackingServices({ ports, dataDir, logger });
  // Spans are exported for real (serialised, sent over HTTP) and dropped by the sink: the cost measured is ours.
  if (TRACING) otlpSink = await startOtlpSink({ keepSpans: false });
  const prof = (name: string) =>
    CPU_PROF ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profDir} --cpu-prof-name=${name}-\${pid}.cpuprofile` } : {};
  const env = appEnv(ports, services, {
    LOG_LEVEL: "info",
    SHIPPING_DELAY_MS: "0",
    APPROVAL_THRESHOLD_CENTS: "2000000000",
    ORDER_RATE_LIMIT_PER_MINUTE: "1000000000",
    SSE_MAX_PER_SESSION: "1000000",
    SSE_MAX_PER_IP: "1000000",
    ...(otlpSink ? { OTEL_EXPORTER_OTLP_ENDPOINT: otlpSink.url } : {}),
  });
  const workerEnv = { ...env, ...prof("worker") };
  const webEnv = (extra: NodeJS.ProcessEnv = {}) => ({
    ...env,
    ...prof("web"),
    ...(HEAP_SNAPSHOT ? { NODE_OPTIONS: `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${profDir}` } : {}),
    ...extra,
  });
  let worker = track(
    await startWorker({ env: workerEnv, adminUrl: services.restate.adminUrl, output: path.join(logDir, "worker.log") }),
  );
  let web = track(await startWeb({ env: webEnv(), port: ports.web, output: path.join(logDir, "web.log") }));

  const noopPort = await freePort();
  const startNoop = () =>
    track(
      startProcess({
        name: "bench-noop",
        command: process.execPath,
        args: [path.join(ROOT, "scripts/bench/noop-endpoint.ts")],
        cwd: ROOT,
        env: { PATH: process.env.PATH, BENCH_NOOP_PORT: String(noopPort) },
        output: path.join(logDir, "noop-endpoint.log"),
      }),
    );
  let noop = startNoop();
  await waitFor("raw endpoint", () => tcpOpen(noopPort), { proc: noop, timeoutMs: 30_000, intervalMs: 50 });
  const reg = await fetch(`${services.restate.adminUrl}/deployments`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ uri: `http://127.0.0.1:${noopPort}`, force: true }),
  });
  if (!reg.ok) throw new Error(`registering the raw endpoint: ${reg.status} ${await reg.text()}`);

  // Bench fixture: stock for every order the run places.
  const db = new pg.Pool({ connectionString: services.postgres.url, max: 1 });
  await db.query("UPDATE products SET stock = 1000000000");
  const skus = (await db.query<{ sku: string }>("SELECT sku FROM products ORDER BY sku")).rows.map((r) => r.sku);
  await db.end();
  const targets: Targets = { webUrl: `http://127.0.0.1:${ports.web}`, ingressUrl: services.restate.ingressUrl, skus };

  // Warm-up: JIT, connection pools, Restate partitions.
  await ordersEndToEnd(targets, 4, 1_500);
  await rawWorkflows(targets, 4, 1_000);

  const pids = () => ({
    "restate-server": services?.restate.child.pid,
    worker: worker.child.pid,
    web: web.child.pid,
    postgres: services && ownsServer(services.postgres) ? services.postgres.child.pid : undefined,
    valkey: services?.valkey.child.pid,
    "raw endpoint": noop.child.pid,
    "bench client": process.pid,
  });
  /**
   * A baseline that runs in a child process of its own (the work without durability, or DBOS): its
   * own CPU comes back in its JSON line (it has exited before /proc could be read), the shared
   * services' CPU from /proc as for every other run.
   */
  const baseline = async (script: string, env: NodeJS.ProcessEnv): Promise<BaselineRun> => {
    let pid: number | undefined;
    const run = await withCpu(
      () => ({ ...pids(), "bench client": undefined, "baseline process": pid }),
      () =>
        new Promise<LoadResult & { cpuMs: number }>((resolve, reject) => {
          const child = spawn(process.execPath, [path.join(ROOT, "scripts/bench", script)], {
            cwd: ROOT,
            env: { PATH: process.env.PATH, ...env },
            stdio: ["ignore", "pipe", "pipe"],
          });
          pid = child.pid;
          let out = "";
          let err = "";
          child.stdout.on("data", (c: Buffer) => (out += c.toString()));
          child.stderr.on("data", (c: Buffer) => (err += c.toString()));
          child.on("error", reject);
          child.on("exit", (code) => {
            const line = out.trim().split("\n").at(-1) ?? "";
            if (code === 0 && line.startsWith("{")) resolve(JSON.parse(line) as LoadResult & { cpuMs: number });
            else reject(new Error(`${script} exited ${code}: ${err.slice(-500)}`));
          });
        }),
    );
    const { cpuMs, ...load } = run.value;
    const cpu = { ...run.cpu, "baseline process": (100 * cpuMs) / 1000 / load.seconds };
    return { load, cpu };
  };
  const plainEnv = (c: number) => ({
    PLAIN_DATABASE_URL: services!.postgres.url,
    PLAIN_VALKEY_URL: services!.valkeyUrl,
    PLAIN_SMTP_HOST: "127.0.0.1",
    PLAIN_SMTP_PORT: String(ports.smtp),
    PLAIN_SKUS: skus.join(","),
    PLAIN_CONCURRENCY: String(c),
    PLAIN_DURATION_MS: String(DURATION_MS),
  });
  const dbosEnv = (c: number) => ({
    DBOS_DATABASE_URL: services!.postgres.adminUrl,
    DBOS_CONCURRENCY: String(c),
    DBOS_DURATION_MS: String(DURATION_MS),
  });

  if (ONLY.has("orders")) {
    results.orders = [];
    const counter = new Redis(services.valkeyUrl);
    for (const c of [1, 8, 64]) {
      say(`orders end to end, concurrency ${c}`);
      const samples: OrderSample[] = [];
      const countedFrom = c === 1 ? await countWork(services.postgres.url, counter) : null;
      const webRun = await withCpu(pids, () => ordersEndToEnd(targets, c, DURATION_MS, c === 1 ? samples : undefined));
      if (countedFrom) {
        const counted = await countWork(services.postgres.url, counter);
        const bytes = await streamBytes(
          counter,
          samples.map((o) => o.orderId),
        );
        results.orderWork = perOrder(countedFrom, counted, samples.length, bytes);
      }
      if (c === 1) {
        say("order cost account from Restate's introspection");
        results.orderAccount = await accountOrders(services.restate.adminUrl, samples.slice(-100));
      }
      await sleep(1_000);
      const raw = await withCpu(pids, () => rawWorkflows(targets, c, DURATION_MS));
      await sleep(1_000);
      let plain: BaselineRun | undefined;
      let dbos: BaselineRun | undefined;
      if (PEERS.has("plain")) {
        say(`the same work without durability, concurrency ${c}`);
        plain = await baseline("plain-orders.ts", plainEnv(c));
        await sleep(1_000);
      }
      if (PEERS.has("dbos")) {
        say(`DBOS: the raw 3-step workflow, concurrency ${c}`);
        dbos = await baseline("dbos-noop.ts", dbosEnv(c));
        await sleep(1_000);
      }
      results.orders.push({
        web: webRun.value,
        raw: raw.value,
        cpu: { web: webRun.cpu, raw: raw.cpu },
        ...(plain ? { plain } : {}),
        ...(dbos ? { dbos } : {}),
      });
    }
    counter.disconnect();
  }

  if (ONLY.has("checkout")) {
    // The worker and web as `npm run dev` runs them: paying on the local Stripe's page, its webhooks
    // signed and delivered to the web. Then back to the settings the other scenarios use.
    const stripe = await startFakeStripe({ webhookUrl: `http://127.0.0.1:${ports.web}/webhooks/stripe` });
    const paying: NodeJS.ProcessEnv = {
      PAYMENT_PROVIDER: "stripe",
      STRIPE_SECRET_KEY: stripe.secretKey,
      STRIPE_API_BASE: stripe.url,
      STRIPE_WEBHOOK_SECRETS: stripe.webhookSecret,
    };
    const restartApps = async (extra: NodeJS.ProcessEnv, label: string) => {
      await Promise.all([worker.stop(10_000), web.stop(10_000)]);
      const adminUrl = services!.restate.adminUrl;
      worker = track(
        await startWorker({ env: { ...workerEnv, ...extra }, adminUrl, output: path.join(logDir, `worker-${label}.log`) }),
      );
      web = track(await startWeb({ env: webEnv(extra), port: ports.web, output: path.join(logDir, `web-${label}.log`) }));
    };
    try {
      await restartApps(paying, "checkout");
      await checkoutOrders(targets, stripe, 2, 1_500); // warm-up
      say("orders paid on the hosted payment page, concurrency 8");
      results.checkout = await checkoutOrders(targets, stripe, 8, DURATION_MS);
      await restartApps({}, "after-checkout");
    } finally {
      await stripe.stop();
    }
  }

  if (ONLY.has("sse")) {
    const redis = new Redis(services.valkeyUrl);
    const fan = async (clients: number, valkey: ValkeyClient = redis) => {
      say(`SSE fan-out: ${clients} clients over ${SSE_ORDERS} orders, ${SSE_RATE} events/s for ${SSE_SECONDS} s`);
      return sseFanout({
        webUrl: targets.webUrl,
        webPid: web.child.pid!,
        redis: valkey,
        databaseUrl: services!.postgres.url,
        idleMs: SSE_IDLE_SECONDS * 1_000,
        clients,
        orders: SSE_ORDERS,
        eventsPerSecond: SSE_RATE,
        durationMs: SSE_SECONDS * 1_000,
        ...(HEAP_SNAPSHOT ? { afterConnected: () => heapSnapshot(web) } : {}),
      });
    };
    const restartWeb = async (extra: NodeJS.ProcessEnv) => {
      await web.stop(15_000);
      web = track(await startWeb({ env: webEnv(extra), port: ports.web, output: path.join(logDir, "web.log") }));
    };
    // A fresh web process for each measurement, so RSS per connection starts from the same place.
    await restartWeb({});
    const shared = await fan(SSE_CLIENTS);
    results.sse = { shared };
    if (SSE_LARGE_CLIENTS > 0) {
      // One web process and the bench client each hold one descriptor per stream, plus their own.
      const needed = SSE_LARGE_CLIENTS + 1_024;
      const have = Math.min(openFileLimit(web.child.pid!), openFileLimit(process.pid));
      if (have >= needed) {
        await restartWeb({});
        results.sse.large = await fan(SSE_LARGE_CLIENTS);
      } else {
        results.sse.largeNotRun = {
          clients: SSE_LARGE_CLIENTS,
          reason: `not run: open-file limit ${have} here, ${needed} needed in the web and in the bench client (raise it with ulimit -n)`,
        };
        say(`SSE fan-out at ${SSE_LARGE_CLIENTS} clients ${results.sse.largeNotRun.reason}`);
      }
    }
    if (SSE_NAIVE_CLIENTS > 0) {
      if (SSE_NAIVE_CLIENTS !== SSE_CLIENTS) {
        await restartWeb({});
        results.sse.sharedAtNaiveLoad = await fan(SSE_NAIVE_CLIENTS);
      }
      say("SSE fan-out, naive design (SSE_NAIVE_SUBSCRIBER=true)");
      await restartWeb({ SSE_NAIVE_SUBSCRIBER: "true" });
      results.sse.naive = await fan(SSE_NAIVE_CLIENTS);
      await restartWeb({});
    }
    if (SSE_QUIET_OFF) {
      say("SSE fan-out with the quiet check off (SSE_QUIET_CHECK_MS=0)");
      await restartWeb({ SSE_QUIET_CHECK_MS: "0" });
      results.sse.quietOff = await fan(SSE_CLIENTS);
    }
    if (SSE_CLUSTER) {
      say("SSE fan-out on a Valkey Cluster (3 primaries, 3 replicas)");
      const cluster = await startValkeyCluster({ dataDir: path.join(dataDir, "valkey-cluster"), logDir });
      const seeds = { VALKEY_URL: `redis://127.0.0.1:${cluster.nodes[0]!.port}`, VALKEY_CLUSTER_NODES: cluster.seeds };
      const client = connectValkey({ ...seeds, VALKEY_CLUSTER_NODES: cluster.seeds.split(",") });
      try {
        await restartWeb(seeds);
        results.sse.cluster = await fan(SSE_CLIENTS, client);
      } finally {
        client.disconnect();
        await cluster.managed.stop(5_000);
      }
    }
    await restartWeb({});
    redis.disconnect();
  }

  if (ONLY.has("storm")) {
    say(`SSE reconnect storm: ${STORM_CLIENTS} clients over ${SSE_ORDERS} orders, the web restarted`);
    const redis = new Redis(services.valkeyUrl);
    await web.stop(15_000);
    web = track(await startWeb({ env: webEnv(), port: ports.web, output: path.join(logDir, "web.log") }));
    results.storm = await sseStorm({
      webUrl: targets.webUrl,
      adminUrl: services.restate.adminUrl,
      redis,
      clients: STORM_CLIENTS,
      orders: SSE_ORDERS,
      restartWeb: async () => {
        await web.stop(15_000);
        web = track(await startWeb({ env: webEnv(), port: ports.web, output: path.join(logDir, "web.log") }));
      },
    });
    redis.disconnect();
  }

  if (ONLY.has("startup")) {
    say("worker restart and raw endpoint restart");
    const probe = `${targets.ingressUrl}/OrderFulfilment/bench-probe/status`;
    const workerLog = path.join(logDir, "worker-restart.log");
    const restarted = await restartUntilServing(
      worker,
      () =>
        track(
          startProcess({
            name: "worker",
            command: process.execPath,
            args: [...TELEMETRY_PRELOAD, path.join(ROOT, "worker/main.ts")],
            cwd: ROOT,
            env: workerEnv,
            output: workerLog,
          }),
        ),
      probe,
      () => {
        try {
          return readFileSync(workerLog, "utf8").includes("registered with Restate");
        } catch {
          return false;
        }
      },
    );
    worker = restarted.proc;
    const rawRestart = await restartUntilServing(noop, startNoop, `${targets.ingressUrl}/BenchNoop/bench-probe/ping`);
    noop = rawRestart.proc;
    results.startup = {
      ...results.startup!,
      workerServingMs: restarted.servingMs,
      workerRegisteredMs: restarted.registeredMs ?? NaN,
      rawEndpointServingMs: rawRestart.servingMs,
    };
  }

  if (ONLY.has("flash")) {
    // Before the ingest: it stops the worker. The scenario warms up on its own, and puts the stock back as it found it.
    const hotSku = process.env.BENCH_FLASH_SKU ?? skus[0]!;
    results.flash = await flashSale({
      targets,
      databaseUrl: services.postgres.url,
      adminUrl: services.restate.adminUrl,
      buyers: FLASH_BUYERS,
      units: FLASH_UNITS,
      concurrency: FLASH_CONCURRENCY,
      hotSku,
      spreadSkus: FLASH_PRODUCTS > 0 ? skus.slice(0, FLASH_PRODUCTS) : skus,
      pids,
      say,
    });
    for (const failure of results.flash.failures) say(`FAILED: ${failure}`);
    for (const warning of results.flash.warnings) say(`warning: ${warning}`);
  }

  if (ONLY.has("ingest")) {
    // Raw first: the orders the web ingests keep the worker busy afterwards, which must not slow the baseline.
    say("form ingest vs raw submit");
    const raw = await withCpu(pids, () => rawIngest(targets, 32, Math.min(DURATION_MS, 5_000)));
    await sleep(3_000);
    const webRun = await withCpu(pids, () => formIngest(targets, 32, Math.min(DURATION_MS, 5_000)));
    results.ingest = { web: webRun.value, raw: raw.value, cpu: { web: webRun.cpu, raw: raw.cpu } };
    // The same with both endpoints stopped: Restate accepts and queues, nothing executes, so only the ingest paths compete.
    say("form ingest vs raw submit, endpoints stopped");
    await Promise.all([worker.stop(10_000), noop.stop(10_000)]);
    const rawOnly = await withCpu(pids, () => rawIngest(targets, 32, Math.min(DURATION_MS, 5_000)));
    await sleep(2_000);
    const webOnly = await withCpu(pids, () => formIngest(targets, 32, Math.min(DURATION_MS, 5_000)));
    results.ingestOnly = { web: webOnly.value, raw: rawOnly.value, cpu: { web: webOnly.cpu, raw: rawOnly.cpu } };
  }
}

let failed = false;
try {
  await main();
} catch (err) {
  failed = true;
  say(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
} finally {
  say("stopping the stack");
  await cleanup();
}
if (results.flash && results.flash.failures.length > 0) failed = true;
results.totalSeconds = (performance.now() - t0) / 1000;
const markdown = renderMarkdown(results);
process.stdout.write(`\n${markdown}\n`);
const stamp = results.startedAt.replace(/[:.]/g, "-");
writeFileSync(path.join(resultsDir, `bench-${stamp}.json`), JSON.stringify(results, null, 2));
writeFileSync(path.join(resultsDir, "latest.json"), JSON.stringify(results, null, 2));
writeFileSync(path.join(resultsDir, "latest.md"), `${markdown}\n`);
say(`results written to ${path.relative(ROOT, resultsDir)}/ (latest.md, latest.json)`);
process.exit(failed ? 1 : 0);
