/**
 * The bench's knobs: every `BENCH_*` environment variable `npm run bench` reads, with its default,
 * parsed once by run.ts at start-up and passed down. A bad value stops the run with a message
 * naming the knob (shared/config.ts's loadConfigOrExit; an empty value counts as unset there).
 */
import { z } from "zod";
import { loadConfigOrExit } from "../../shared/config.ts";

export const SCENARIOS = ["startup", "orders", "checkout", "sse", "storm", "flash", "ingest"] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** A comma-separated list of names from `allowed`, as a set (blank items ignored). */
function names<const T extends readonly string[]>(allowed: T, fallback: string) {
  const known = (n: string): n is T[number] => allowed.includes(n);
  return z
    .string()
    .default(fallback)
    .transform((v, ctx) => {
      const list = v
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== "");
      const unknown = list.filter((n) => !known(n));
      if (unknown.length === 0) return new Set(list.filter(known));
      const message = `unknown ${unknown.map((n) => `"${n}"`).join(", ")}: each name must be one of ${allowed.join(", ")}`;
      ctx.addIssue({ code: "custom", message });
      return z.NEVER;
    });
}

/** `1` turns it on; anything but 0 or 1 is refused. */
const flag = z
  .enum(["0", "1"], { error: "must be 0 or 1" })
  .default("0")
  .transform((v) => v === "1");

const count = (min: number) => z.coerce.number().int().min(min);
const positive = z.coerce.number().positive();

export const benchKnobsSchema = z
  .object({
    // Which scenarios run, in the bench's own order whatever the order here.
    BENCH_ONLY: names(SCENARIOS, SCENARIOS.join(",")),
    // The same-run baselines beside the orders: `plain` (the work without durability), `dbos`; `none` skips both.
    BENCH_PEERS: names(["plain", "dbos", "none"], "plain,dbos"),
    // Each load step's length in the orders and checkout scenarios (the ingest takes at most 5 s of it).
    BENCH_DURATION_MS: count(1).default(8_000),
    // The whole run stops by itself after this long, stack and all.
    BENCH_TIMEOUT_MS: count(1).default(9.5 * 60_000),
    // Streams on one web process in the SSE fan-out (and its quiet-check-off and cluster runs).
    BENCH_SSE_CLIENTS: count(1).default(10_000),
    // Streams in the naive-design comparison (one subscriber per stream), at most BENCH_SSE_CLIENTS; 0 leaves it out.
    BENCH_SSE_NAIVE_CLIENTS: count(0).default(2_000),
    // The large fan-out beside the default one; run when the open-file limits allow it; 0 leaves it out.
    BENCH_SSE_LARGE_CLIENTS: count(0).default(30_000),
    // Orders the fan-out's (and the reconnect storm's) streams are spread over.
    BENCH_SSE_ORDERS: count(1).default(1_000),
    // Progress events published per second during the fan-out.
    BENCH_SSE_RATE: positive.default(200),
    // How long the fan-out publishes.
    BENCH_SSE_SECONDS: positive.default(10),
    // After publishing, every stream stays open this long with nothing published: what the quiet check costs.
    BENCH_SSE_IDLE_SECONDS: z.coerce.number().min(0).default(20),
    // The fan-out again on a Valkey Cluster (three primaries, three replicas); 0 leaves it out.
    BENCH_SSE_CLUSTER: z.coerce
      .number()
      .min(0)
      .default(1)
      .transform((n) => n > 0),
    // The fan-out again with the web's quiet check off (SSE_QUIET_CHECK_MS=0); 0 leaves it out.
    BENCH_SSE_QUIET_OFF: z.coerce
      .number()
      .min(0)
      .default(1)
      .transform((n) => n > 0),
    // Streams open when the reconnect storm restarts the web.
    BENCH_STORM_CLIENTS: count(1).default(10_000),
    // Flash sale: the buyers (one unit each), the units on sale, and the buyers in flight at once.
    BENCH_FLASH_BUYERS: count(1).default(5_000),
    BENCH_FLASH_UNITS: count(1).default(1_000),
    BENCH_FLASH_CONCURRENCY: count(1).default(256),
    // The hot phase's product; unset = the first product by SKU.
    BENCH_FLASH_SKU: z.string().min(1).optional(),
    // Products the spread phase shares the units over (the first ones by SKU); 0 = all.
    BENCH_FLASH_PRODUCTS: count(0).default(0),
    // The web and the worker write --cpu-prof profiles to bench-results/profiles/.
    BENCH_CPU_PROF: flag,
    // The web writes a heap snapshot to bench-results/profiles/ with every fan-out client connected.
    BENCH_HEAP_SNAPSHOT: flag,
    // The web and the worker export traces to a local OTLP sink that drops them: tracing's cost, on against off.
    BENCH_TRACING: flag,
  })
  .transform((k) => ({
    ...k,
    // The naive run is a comparison beside the shared one, never a larger load than it.
    BENCH_SSE_NAIVE_CLIENTS: Math.min(k.BENCH_SSE_CLIENTS, k.BENCH_SSE_NAIVE_CLIENTS),
  }));
export type BenchKnobs = z.infer<typeof benchKnobsSchema>;

/** Parses the knobs from `env`, or prints what is wrong with them and exits with status 1. */
export function loadKnobs(env: NodeJS.ProcessEnv): BenchKnobs {
  return loadConfigOrExit(benchKnobsSchema, env);
}
