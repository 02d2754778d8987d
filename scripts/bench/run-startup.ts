/** Scenario 4, start-up: `npm run dev` cold and warm (before the bench's own stack), then the worker and the raw endpoint restarted in it. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { startProcess } from "../stack/processes.ts";
import { ROOT, TELEMETRY_PRELOAD } from "../stack/stack.ts";
import type { BenchResults } from "./bench-results.ts";
import type { Bench } from "./run-context.ts";
import { devStartup, restartUntilServing } from "./startup.scenario.ts";

/** Runs `npm run dev` on ports of its own; the restarts fill in the rest of the figures later. */
export async function measureDevStartup(results: BenchResults, logDir: string, say: (msg: string) => void): Promise<void> {
  say("start-up: npm run dev (cold, warm) on free ports, restate-server alone");
  results.startup = { ...(await devStartup(logDir)), workerServingMs: NaN, workerRegisteredMs: NaN, rawEndpointServingMs: NaN };
}

/** The worker until it serves through the ingress and has logged its registration, beside the raw endpoint until it serves. */
export async function runRestarts(b: Bench): Promise<void> {
  const { stack } = b;
  b.say("worker restart and raw endpoint restart");
  const probe = `${stack.targets.ingressUrl}/OrderFulfilment/bench-probe/status`;
  const workerLog = path.join(b.dirs.logs, "worker-restart.log");
  const startWorker = () =>
    stack.track(
      startProcess({
        name: "worker",
        command: process.execPath,
        args: [...TELEMETRY_PRELOAD, path.join(ROOT, "worker/main.ts")],
        cwd: ROOT,
        env: stack.workerEnv,
        output: workerLog,
      }),
    );
  const registered = () => {
    try {
      return readFileSync(workerLog, "utf8").includes("registered with Restate");
    } catch {
      return false;
    }
  };
  const restarted = await restartUntilServing(stack.worker, startWorker, probe, registered);
  stack.worker = restarted.proc;
  const rawRestart = await restartUntilServing(
    stack.noop,
    stack.startNoop,
    `${stack.targets.ingressUrl}/BenchNoop/bench-probe/ping`,
  );
  stack.noop = rawRestart.proc;
  b.results.startup = {
    ...b.results.startup!,
    workerServingMs: restarted.servingMs,
    workerRegisteredMs: restarted.registeredMs ?? NaN,
    rawEndpointServingMs: rawRestart.servingMs,
  };
}
