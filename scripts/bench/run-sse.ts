/**
 * The SSE scenarios: the fan-out (3) in the default design and beside it at a larger load, in the
 * naive design, with the quiet check off and on a Valkey Cluster; and the reconnect storm (3b).
 * A fresh web process for each measurement, so RSS per connection starts from the same place.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { connectValkey, type ValkeyClient } from "../../shared/valkey-client.ts";
import type { Managed } from "../stack/processes.ts";
import { waitFor } from "../stack/processes.ts";
import { startValkeyCluster } from "../stack/valkey-cluster.ts";
import type { SseResults } from "./bench-results.ts";
import type { Bench } from "./run-context.ts";
import { sseFanout, type FanoutResult } from "./sse-fanout.scenario.ts";
import { sseStorm } from "./sse-storm.scenario.ts";

type FanOut = (clients: number, valkey?: ValkeyClient) => Promise<FanoutResult>;

export async function runSseFanout(b: Bench): Promise<void> {
  const { stack, knobs } = b;
  const redis = new Redis(stack.services.valkeyUrl);
  const fan = fanOut(b, redis);
  await stack.restartWeb({});
  const sse: SseResults = { shared: await fan(knobs.BENCH_SSE_CLIENTS) };
  b.results.sse = sse;
  if (knobs.BENCH_SSE_LARGE_CLIENTS > 0) await largeFanout(b, fan, sse);
  if (knobs.BENCH_SSE_NAIVE_CLIENTS > 0) await naiveFanout(b, fan, sse);
  if (knobs.BENCH_SSE_QUIET_OFF) {
    b.say("SSE fan-out with the quiet check off (SSE_QUIET_CHECK_MS=0)");
    await stack.restartWeb({ SSE_QUIET_CHECK_MS: "0" });
    sse.quietOff = await fan(knobs.BENCH_SSE_CLIENTS);
  }
  if (knobs.BENCH_SSE_CLUSTER) await clusterFanout(b, fan, sse);
  await stack.restartWeb({});
  redis.disconnect();
}

/** One fan-out against the web running now, published through `valkey` (the stack's own Valkey unless given). */
function fanOut(b: Bench, redis: Redis): FanOut {
  const { stack, knobs } = b;
  return (clients, valkey = redis) => {
    b.say(
      `SSE fan-out: ${clients} clients over ${knobs.BENCH_SSE_ORDERS} orders, ${knobs.BENCH_SSE_RATE} events/s for ${knobs.BENCH_SSE_SECONDS} s`,
    );
    return sseFanout({
      webUrl: stack.targets.webUrl,
      webPid: stack.web.child.pid!,
      redis: valkey,
      databaseUrl: stack.services.postgres.url,
      idleMs: knobs.BENCH_SSE_IDLE_SECONDS * 1_000,
      clients,
      orders: knobs.BENCH_SSE_ORDERS,
      eventsPerSecond: knobs.BENCH_SSE_RATE,
      durationMs: knobs.BENCH_SSE_SECONDS * 1_000,
      ...(knobs.BENCH_HEAP_SNAPSHOT ? { afterConnected: () => heapSnapshot(stack.web, b.dirs.profiles) } : {}),
    });
  };
}

/** Run only when the descriptor limits allow it; otherwise the report says why not. */
async function largeFanout(b: Bench, fan: FanOut, sse: SseResults): Promise<void> {
  const clients = b.knobs.BENCH_SSE_LARGE_CLIENTS;
  // One web process and the bench client each hold one descriptor per stream, plus their own.
  const needed = clients + 1_024;
  const have = Math.min(openFileLimit(b.stack.web.child.pid!), openFileLimit(process.pid));
  if (have >= needed) {
    await b.stack.restartWeb({});
    sse.large = await fan(clients);
    return;
  }
  sse.largeNotRun = {
    clients,
    reason: `not run: open-file limit ${have} here, ${needed} needed in the web and in the bench client (raise it with ulimit -n)`,
  };
  b.say(`SSE fan-out at ${clients} clients ${sse.largeNotRun.reason}`);
}

/** The naive design beside the shared one at the same load. */
async function naiveFanout(b: Bench, fan: FanOut, sse: SseResults): Promise<void> {
  const { stack, knobs } = b;
  if (knobs.BENCH_SSE_NAIVE_CLIENTS !== knobs.BENCH_SSE_CLIENTS) {
    await stack.restartWeb({});
    sse.sharedAtNaiveLoad = await fan(knobs.BENCH_SSE_NAIVE_CLIENTS);
  }
  b.say("SSE fan-out, naive design (SSE_NAIVE_SUBSCRIBER=true)");
  await stack.restartWeb({ SSE_NAIVE_SUBSCRIBER: "true" });
  sse.naive = await fan(knobs.BENCH_SSE_NAIVE_CLIENTS);
  await stack.restartWeb({});
}

async function clusterFanout(b: Bench, fan: FanOut, sse: SseResults): Promise<void> {
  b.say("SSE fan-out on a Valkey Cluster (3 primaries, 3 replicas)");
  const cluster = await startValkeyCluster({ dataDir: path.join(b.dirs.data, "valkey-cluster"), logDir: b.dirs.logs });
  const seeds = { VALKEY_URL: `redis://127.0.0.1:${cluster.nodes[0]!.port}`, VALKEY_CLUSTER_NODES: cluster.seeds };
  const client = connectValkey({ ...seeds, VALKEY_CLUSTER_NODES: cluster.seeds.split(",") });
  try {
    await b.stack.restartWeb(seeds);
    sse.cluster = await fan(b.knobs.BENCH_SSE_CLIENTS, client);
  } finally {
    client.disconnect();
    await cluster.managed.stop(5_000);
  }
}

export async function runStorm(b: Bench): Promise<void> {
  const { stack, knobs } = b;
  b.say(`SSE reconnect storm: ${knobs.BENCH_STORM_CLIENTS} clients over ${knobs.BENCH_SSE_ORDERS} orders, the web restarted`);
  const redis = new Redis(stack.services.valkeyUrl);
  await stack.restartWeb();
  b.results.storm = await sseStorm({
    webUrl: stack.targets.webUrl,
    adminUrl: stack.services.restate.adminUrl,
    redis,
    clients: knobs.BENCH_STORM_CLIENTS,
    orders: knobs.BENCH_SSE_ORDERS,
    restartWeb: () => stack.restartWeb(),
  });
  redis.disconnect();
}

/** A process's soft limit on open files (/proc/<pid>/limits). */
function openFileLimit(pid: number): number {
  const line = readFileSync(`/proc/${pid}/limits`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("Max open files"));
  const soft = line?.split(/\s{2,}/)[1];
  return soft === "unlimited" ? Number.POSITIVE_INFINITY : Number(soft ?? 0);
}

/** Asks the web for a heap snapshot (--heapsnapshot-signal) and waits until it is written. */
async function heapSnapshot(web: Managed, profDir: string): Promise<void> {
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
