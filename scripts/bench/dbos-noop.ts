/**
 * A peer engine's floor for `npm run bench`: the raw baseline's workflow (three no-op named steps
 * returning 1, 2, 3) on DBOS Transact, measured the same way: each operation starts a workflow
 * under a fresh id and awaits its result. DBOS runs the workflow in this process and checkpoints
 * the start, every step and the result in PostgreSQL, so this is a durable-execution floor with no
 * separate server and no network hop to an endpoint. Not part of the application.
 *
 * Env: DBOS_DATABASE_URL (any URL of the bench's PostgreSQL server whose role may create databases;
 * DBOS keeps its tables in its own `dbos_bench_sys` database on that server, created at launch),
 * DBOS_CONCURRENCY, DBOS_DURATION_MS. Prints one JSON line, a `LoadResult` with this process's CPU ms (`cpuMs`), on stdout; DBOS logs
 * only warnings and errors, and those go to stderr. A failed workflow counts in `errors`; a failed
 * launch, or a run where nothing completes, goes to stderr with exit status 1.
 */
import { DBOS } from "@dbos-inc/dbos-sdk";
import { v7 as uuidv7 } from "uuid";
import { z } from "zod";
import { loadConfigOrExit } from "../../shared/config.ts";
import { closedLoop } from "./stats.ts";

const env = loadConfigOrExit(
  z.object({
    DBOS_DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
    DBOS_CONCURRENCY: z.coerce.number().int().min(1),
    DBOS_DURATION_MS: z.coerce.number().int().min(1),
  }),
);
const systemDatabaseUrl = new URL(env.DBOS_DATABASE_URL);
systemDatabaseUrl.pathname = "/dbos_bench_sys";

const benchNoop = DBOS.registerWorkflow(
  async () => {
    await DBOS.runStep(() => Promise.resolve(1), { name: "one" });
    await DBOS.runStep(() => Promise.resolve(2), { name: "two" });
    await DBOS.runStep(() => Promise.resolve(3), { name: "three" });
    return "ok";
  },
  { name: "BenchNoop" },
);

async function submitAndAwait(): Promise<number> {
  const started = performance.now();
  const handle = await DBOS.startWorkflow(benchNoop, { workflowID: uuidv7() })();
  const result = await handle.getResult();
  if (result !== "ok") throw new Error(`BenchNoop returned ${String(result)}`);
  return performance.now() - started;
}

let launched = false;
try {
  DBOS.setConfig({
    name: "quayside-bench",
    systemDatabaseUrl: systemDatabaseUrl.toString(),
    logLevel: "warn",
    enableOTLP: false,
    tracingEnabled: false,
  });
  const launchStarted = performance.now();
  await DBOS.launch();
  launched = true;
  process.stderr.write(`DBOS launched in ${Math.round(performance.now() - launchStarted)} ms\n`);
  // Warm-up (JIT, the system database pool), not counted.
  await closedLoop(env.DBOS_CONCURRENCY, 300, submitAndAwait);
  // This process's own CPU over the measured loop: the bench cannot read it from /proc once we exit.
  const cpuBefore = process.cpuUsage();
  const result = await closedLoop(env.DBOS_CONCURRENCY, env.DBOS_DURATION_MS, submitAndAwait);
  const cpu = process.cpuUsage(cpuBefore);
  process.stdout.write(`${JSON.stringify({ ...result, cpuMs: (cpu.user + cpu.system) / 1000 })}\n`);
} catch (err) {
  process.stderr.write(`dbos-noop failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
} finally {
  if (launched) await DBOS.shutdown();
}
// A launch that failed half-way can leave handles open; the result is out, so leave now.
process.exit();
