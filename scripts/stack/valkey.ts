/** Valkey (or Redis, which speaks the same protocol) from PATH, on a port of our choosing. */
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { startProcess, waitFor, type Managed } from "./processes.ts";

export function findValkeyServer(): string {
  for (const bin of ["valkey-server", "redis-server"]) {
    try {
      return execFileSync("sh", ["-c", `command -v ${bin}`], { encoding: "utf8" }).trim();
    } catch {
      // try the next one
    }
  }
  throw new Error(
    "Neither valkey-server nor redis-server is on PATH. Install one: `apt-get install redis-server` " +
      "(Debian bookworm has no valkey package) or your distribution's `valkey` package.",
  );
}

export async function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1");
    sock.setTimeout(1_000);
    sock.once("connect", () => sock.write("PING\r\n"));
    sock.once("data", (d) => {
      sock.destroy();
      resolve(d.toString().startsWith("+PONG"));
    });
    sock.once("error", () => resolve(false));
    sock.once("timeout", () => {
      sock.destroy();
      resolve(false);
    });
  });
}

/** How every server the stack starts runs, alone or as a cluster node: loopback only, in the foreground. */
export function serverArgs(port: number, dataDir: string): string[] {
  return [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    path.resolve(dataDir),
    "--save",
    "",
    // Append-only, as in production: session ownership lives here, and a restart must keep it.
    "--appendonly",
    "yes",
    "--appendfsync",
    "everysec",
    "--daemonize",
    "no",
    "--protected-mode",
    "yes",
  ];
}

export async function startValkey(opts: { port: number; dataDir: string; logFile: string }): Promise<Managed> {
  mkdirSync(opts.dataDir, { recursive: true });
  const proc = startProcess({
    name: "valkey",
    command: findValkeyServer(),
    args: serverArgs(opts.port, opts.dataDir),
    output: opts.logFile,
  });
  await waitFor("valkey", () => ping(opts.port), { proc, timeoutMs: 15_000, intervalMs: 50 });
  return proc;
}
