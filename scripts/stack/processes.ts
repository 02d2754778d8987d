/** Child processes for the local stack and the test harness: started, awaited, stopped by pid. */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { closeSync, mkdirSync, openSync, rmdirSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

export interface Managed {
  name: string;
  child: ChildProcess;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL and wait: a crash, for tests that prove durability. */
  kill(): Promise<void>;
  exited: Promise<number | null>;
}

export interface StartOptions extends Pick<SpawnOptions, "cwd" | "env" | "uid" | "gid"> {
  name: string;
  command: string;
  args: string[];
  /** Where stdout and stderr go: a file path, "inherit", or "ignore". */
  /** A log file path, or "inherit" / "ignore". */
  output: string;
  /** The signal that asks this program to stop quickly and cleanly (PostgreSQL: SIGINT). */
  stopSignal?: NodeJS.Signals;
}

export function startProcess(opts: StartOptions): Managed {
  // A log file is handed to the child as its stdout/stderr: no pipe keeps this process waiting.
  const fd = opts.output === "inherit" || opts.output === "ignore" ? null : openSync(opts.output, "a");
  const out = fd ?? (opts.output as "inherit" | "ignore");
  const child: ChildProcess = spawn(opts.command, opts.args, {
    cwd: opts.cwd,
    env: opts.env,
    uid: opts.uid,
    gid: opts.gid,
    stdio: ["ignore", out, out],
  });
  if (fd !== null) closeSync(fd);
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code, signal) => resolve(code ?? (signal ? 128 : null)));
    child.once("error", () => resolve(null));
  });
  const alive = () => child.exitCode === null && child.signalCode === null;
  const signal = async (sig: NodeJS.Signals, graceMs: number) => {
    if (!alive()) return;
    child.kill(sig);
    const done = await Promise.race([exited.then(() => true), sleep(graceMs, false, { ref: false })]);
    if (!done && alive()) {
      child.kill("SIGKILL");
      await exited;
    }
  };
  return {
    name: opts.name,
    child,
    exited,
    stop: (graceMs = 10_000) => signal(opts.stopSignal ?? "SIGTERM", graceMs),
    kill: () => signal("SIGKILL", 5_000),
  };
}

const PORT_CLAIMS = path.join(os.tmpdir(), "quayside-ports");
const CLAIM_TTL_MS = 15 * 60_000;

/** Reserves `port` across processes (an atomic mkdir); false if another reservation is still fresh. */
function reservePort(port: number): boolean {
  mkdirSync(PORT_CLAIMS, { recursive: true });
  const dir = path.join(PORT_CLAIMS, String(port));
  try {
    mkdirSync(dir);
    return true;
  } catch {
    try {
      if (Date.now() - statSync(dir).mtimeMs < CLAIM_TTL_MS) return false;
      rmdirSync(dir);
      mkdirSync(dir);
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * A port nobody listens on right now, chosen below Linux's ephemeral range (32768–60999): a port
 * the kernel hands out could be taken as the source port of some outgoing connection before the
 * service that is meant to listen on it starts. Stacks starting at the same time in other
 * processes (test files run in parallel) cannot be handed the same port: each pick is reserved
 * for a quarter of an hour.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 500; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (reservePort(port) && (await portIsFree(port))) return port;
  }
  throw new Error("no free port between 20000 and 32000");
}

export async function portIsFree(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

/** Polls `check` until it returns true; fails with `what` after `timeoutMs`, or early if `proc` exits. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  opts: { timeoutMs?: number; intervalMs?: number; proc?: Managed } = {},
): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let exited = false;
  void opts.proc?.exited.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${what}: process ${opts.proc?.name ?? ""} exited before it was ready`);
    try {
      if (await check()) return;
    } catch {
      // not ready yet
    }
    await sleep(opts.intervalMs ?? 100);
  }
  throw new Error(`${what}: not ready after ${opts.timeoutMs ?? 30_000} ms`);
}

export async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
  await res.body?.cancel();
  return res.ok;
}

export async function tcpOpen(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, host);
    sock.setTimeout(1_000);
    sock.once("connect", () => {
      sock.destroy();
      resolve(true);
    });
    sock.once("error", () => resolve(false));
    sock.once("timeout", () => {
      sock.destroy();
      resolve(false);
    });
  });
}
