/**
 * Scenario 4: `npm run dev` (scripts/dev.ts, every DEV_*_PORT on a free port, its own data folder)
 * until the web answers /ready, cold and warm, beside restate-server alone; and a worker restart
 * until it serves and has registered, beside the raw no-op endpoint restarted until it serves.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort, httpOk, startProcess, waitFor, type Managed } from "../stack/processes.ts";
import { startRestate } from "../stack/restate.ts";
import { ROOT } from "../stack/stack.ts";
import { request } from "./http.ts";

async function devPortsEnv(): Promise<Record<string, string>> {
  // Every DEV_*_PORT that scripts/dev.ts reads, so none of the well-known ports is touched.
  const names = [...readFileSync(path.join(ROOT, "scripts/dev.ts"), "utf8").matchAll(/"(DEV_[A-Z_]+_PORT)"/g)].map((m) => m[1]!);
  const env: Record<string, string> = {};
  for (const name of new Set(names)) env[name] = String(await freePort());
  return env;
}

/** Milliseconds from spawning scripts/dev.ts to the web's /ready, then Ctrl+C. */
async function devOnce(dataDir: string, logFile: string): Promise<number> {
  const ports = await devPortsEnv();
  const started = performance.now();
  const dev = startProcess({
    name: "dev",
    command: process.execPath,
    args: [path.join(ROOT, "scripts/dev.ts")],
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, DEV_DATA_DIR: dataDir, ...ports },
    output: logFile,
    stopSignal: "SIGINT",
  });
  try {
    await waitFor("dev stack", () => httpOk(`http://127.0.0.1:${ports.DEV_WEB_PORT}/ready`), {
      proc: dev,
      timeoutMs: 90_000,
      intervalMs: 25,
    });
    return performance.now() - started;
  } finally {
    await dev.stop(20_000);
  }
}

export interface StartupResult {
  devColdMs: number;
  devWarmMs: number;
  restateAloneMs: number;
  workerServingMs: number;
  workerRegisteredMs: number;
  rawEndpointServingMs: number;
}

export async function devStartup(logDir: string): Promise<Pick<StartupResult, "devColdMs" | "devWarmMs" | "restateAloneMs">> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "quayside-bench-dev-"));
  chmodSync(dataDir, 0o755);
  try {
    const devColdMs = await devOnce(dataDir, path.join(logDir, "dev-cold.log"));
    const devWarmMs = await devOnce(dataDir, path.join(logDir, "dev-warm.log"));
    const restateDir = path.join(dataDir, "restate-alone");
    const ports = { ingress: await freePort(), admin: await freePort(), node: await freePort() };
    const started = performance.now();
    const restate = await startRestate({ ports, baseDir: restateDir, logFile: path.join(logDir, "restate-alone.log") });
    const restateAloneMs = performance.now() - started;
    await restate.stop();
    return { devColdMs, devWarmMs, restateAloneMs };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Restarts a Restate endpoint process; ms until `probeUrl` answers 200 through the ingress, and until `registered()` holds. */
export async function restartUntilServing(
  old: Managed,
  start: () => Managed,
  probeUrl: string,
  registered?: () => boolean,
): Promise<{ proc: Managed; servingMs: number; registeredMs: number | null }> {
  await old.stop(10_000);
  const started = performance.now();
  const proc = start();
  let servingMs = NaN;
  let registeredMs: number | null = null;
  await waitFor(
    "endpoint serving",
    async () => {
      if (Number.isNaN(servingMs)) {
        const res = await request(probeUrl, { method: "POST", timeoutMs: 2_000 });
        if (res.status === 200) servingMs = performance.now() - started;
      }
      if (registered && registeredMs === null && registered()) registeredMs = performance.now() - started;
      return !Number.isNaN(servingMs) && (!registered || registeredMs !== null);
    },
    { proc, timeoutMs: 60_000, intervalMs: 10 },
  );
  return { proc, servingMs, registeredMs };
}
