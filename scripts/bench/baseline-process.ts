/**
 * A baseline that runs in a child process of its own (plain-orders.ts, dbos-noop.ts): its own CPU
 * comes back in its JSON line (it has exited before /proc could be read), the shared services' CPU
 * from /proc as for every other run.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { ROOT } from "../stack/stack.ts";
import type { BaselineRun } from "./bench-results.ts";
import { withCpu } from "./cpu.ts";
import type { LoadResult } from "./stats.ts";

type Measured = LoadResult & { cpuMs: number };

export async function runBaseline(
  pids: () => Record<string, number | undefined>,
  script: string,
  env: NodeJS.ProcessEnv,
): Promise<BaselineRun> {
  let pid: number | undefined;
  const run = await withCpu(
    () => ({ ...pids(), "bench client": undefined, "baseline process": pid }),
    () =>
      runScript(script, env, (started) => {
        pid = started;
      }),
  );
  const { cpuMs, ...load } = run.value;
  const cpu = { ...run.cpu, "baseline process": (100 * cpuMs) / 1000 / load.seconds };
  return { load, cpu };
}

/** Runs scripts/bench/`script` to its end and reads the last line it prints. */
function runScript(script: string, env: NodeJS.ProcessEnv, started: (pid: number | undefined) => void): Promise<Measured> {
  return new Promise<Measured>((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, "scripts/bench", script)], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    started(child.pid);
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.on("error", reject);
    child.on("exit", (code) => {
      const line = out.trim().split("\n").at(-1) ?? "";
      if (code === 0 && line.startsWith("{")) resolve(JSON.parse(line) as Measured);
      else reject(new Error(`${script} exited ${code}: ${err.slice(-500)}`));
    });
  });
}
