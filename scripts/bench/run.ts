/**
 * `npm run bench`: starts its own stack (free ports, temporary data folder), runs each scenario
 * beside its raw-Restate baseline measured in the same run, prints markdown tables and writes them
 * (and the JSON) to bench-results/. It never fails on the targets; it stops by itself. It fails
 * (exit 1) when the flash sale sells a different number of units than it has, or a unit twice.
 *
 * Knobs: the BENCH_* environment variables in knobs.ts (which scenarios, how long, how many clients,
 * the baselines, profiles and tracing), each with its default.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { findPostgresBin } from "../stack/postgres.ts";
import { ROOT } from "../stack/stack.ts";
import { benchDirs, owned, startBenchStack, type BenchDirs, type BenchStack } from "./bench-stack.ts";
import type { BenchResults } from "./bench-results.ts";
import { loadKnobs, type BenchKnobs } from "./knobs.ts";
import { ordersEndToEnd, rawWorkflows } from "./orders.scenario.ts";
import { renderMarkdown } from "./report.ts";
import type { Bench } from "./run-context.ts";
import { runCheckout, runFlashSale, runIngest, runOrders } from "./run-orders.ts";
import { runSseFanout, runStorm } from "./run-sse.ts";
import { measureDevStartup, runRestarts } from "./run-startup.ts";

const knobs = loadKnobs(process.env);
const t0 = performance.now();
const say = (msg: string) => process.stderr.write(`[bench +${((performance.now() - t0) / 1000).toFixed(0)}s] ${msg}\n`);
const dirs = benchDirs();
const results = newResults(knobs);

// Everything started here is stopped here, on success, failure, Ctrl+C or the overall time limit.
const own = owned(dirs.data);
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void own.cleanup().then(() => process.exit(130)));
setTimeout(() => {
  say(`overall time limit (${knobs.BENCH_TIMEOUT_MS} ms) reached: stopping`);
  void own.cleanup().then(() => process.exit(2));
}, knobs.BENCH_TIMEOUT_MS).unref();

/** The selected scenarios, in an order where each leaves the stack as the next one needs it. */
async function main(): Promise<void> {
  const only = knobs.BENCH_ONLY;
  // Before the bench's own stack: it starts `npm run dev` on ports of its own.
  if (only.has("startup")) await measureDevStartup(results, dirs.logs, say);
  const stack = await startBenchStack(knobs, dirs, own, say);
  await warmUp(stack);
  const bench: Bench = { knobs, stack, results, dirs, say };
  if (only.has("orders")) await runOrders(bench);
  if (only.has("checkout")) await runCheckout(bench);
  if (only.has("sse")) await runSseFanout(bench);
  if (only.has("storm")) await runStorm(bench);
  if (only.has("startup")) await runRestarts(bench);
  // Before the ingest: it stops the worker.
  if (only.has("flash")) await runFlashSale(bench);
  if (only.has("ingest")) await runIngest(bench);
}

/** JIT, connection pools, Restate partitions. */
async function warmUp(stack: BenchStack): Promise<void> {
  await ordersEndToEnd(stack.targets, 4, 1_500);
  await rawWorkflows(stack.targets, 4, 1_000);
}

let failed = false;
try {
  await main();
} catch (err) {
  failed = true;
  say(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
} finally {
  say("stopping the stack");
  await own.cleanup();
}
if (results.flash && results.flash.failures.length > 0) failed = true;
results.totalSeconds = (performance.now() - t0) / 1000;
writeReport(results, dirs);
process.exit(failed ? 1 : 0);

/** The markdown on stdout; it and the JSON in bench-results/ (this run's, and latest.*). */
function writeReport(r: BenchResults, d: BenchDirs): void {
  const markdown = renderMarkdown(r);
  process.stdout.write(`\n${markdown}\n`);
  const stamp = r.startedAt.replace(/[:.]/g, "-");
  writeFileSync(path.join(d.results, `bench-${stamp}.json`), JSON.stringify(r, null, 2));
  writeFileSync(path.join(d.results, "latest.json"), JSON.stringify(r, null, 2));
  writeFileSync(path.join(d.results, "latest.md"), `${markdown}\n`);
  say(`results written to ${path.relative(ROOT, d.results)}/ (latest.md, latest.json)`);
}

/** The machine and the settings, before anything is measured. */
function newResults(k: BenchKnobs): BenchResults {
  return {
    startedAt: new Date().toISOString(),
    machine: {
      cpu: `${os.cpus()[0]?.model.trim() ?? "?"} × ${os.availableParallelism()}`,
      memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
      kernel: `${os.type()} ${os.release()}`,
      node: process.version,
      postgres: version(path.join(findPostgresBin(), "postgres"), ["--version"]),
      valkey: version("sh", ["-c", "valkey-server --version 2>/dev/null || redis-server --version"]).split(" sha=")[0] ?? "?",
      "restate-server": z
        .object({ version: z.string() })
        .parse(JSON.parse(readFileSync(path.join(ROOT, "node_modules/@restatedev/restate-server/package.json"), "utf8"))).version,
    },
    settings: {
      durationPerStepMs: k.BENCH_DURATION_MS,
      sseClients: k.BENCH_SSE_CLIENTS,
      sseNaiveClients: k.BENCH_SSE_NAIVE_CLIENTS,
      sseOrders: k.BENCH_SSE_ORDERS,
      sseEventsPerSecond: k.BENCH_SSE_RATE,
      sseSeconds: k.BENCH_SSE_SECONDS,
      logLevel: "info",
      tracing: k.BENCH_TRACING ? "on (OTLP to a local sink)" : "off",
    },
  };
}

function version(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8" }).trim().split("\n")[0] ?? "?";
  } catch {
    return "?";
  }
}
