/**
 * The two servers the local stack takes from the system: PostgreSQL and Valkey (or Redis). When one
 * is missing, root with apt-get installs it (announced, non-interactive, the packaged service kept
 * stopped: the stack starts its own on its own ports), the way `playwright install --with-deps`
 * does; anyone else is told the one command to run. `decideInstall` is the decision, pure;
 * `ensureServerBinaries` looks at the machine and carries it out.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, rmSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { findPostgresBin } from "./postgres.ts";
import { findValkeyServer } from "./valkey.ts";

export type ServerKind = "postgres" | "valkey";

export interface Machine {
  isRoot: boolean;
  hasAptGet: boolean;
  platform: NodeJS.Platform;
}

export type InstallDecision =
  { action: "none" } | { action: "install"; packages: string[]; announce: string } | { action: "ask"; message: string };

const LABEL: Record<ServerKind, string> = {
  postgres: "PostgreSQL server binaries",
  valkey: "valkey-server or redis-server",
};
// Debian's names (bookworm has no valkey package; Redis speaks the same protocol).
const APT: Record<ServerKind, string> = { postgres: "postgresql", valkey: "redis-server" };
const BREW: Record<ServerKind, string> = { postgres: "postgresql@17", valkey: "valkey" };

/** What to do about the servers in `missing` on `machine`: nothing, install them, or ask the user to. */
export function decideInstall(missing: ServerKind[], machine: Machine): InstallDecision {
  if (missing.length === 0) return { action: "none" };
  const what = missing.map((k) => LABEL[k]).join(" and ");
  const apt = missing.map((k) => APT[k]);
  if (machine.platform === "linux" && machine.hasAptGet && machine.isRoot) {
    return {
      action: "install",
      packages: apt,
      announce: `${what} not found: installing ${apt.join(" ")} with apt-get (non-interactive; the packaged services stay stopped)`,
    };
  }
  const command =
    machine.platform === "linux" && machine.hasAptGet
      ? `sudo apt-get install -y ${apt.join(" ")}`
      : machine.platform === "darwin"
        ? `brew install ${missing.map((k) => BREW[k]).join(" ")}`
        : null;
  return {
    action: "ask",
    message: command
      ? `${what} not found. Install with:\n\n  ${command}\n`
      : `${what} not found. Install them with your package manager (PostgreSQL 15 or newer; Valkey or Redis 7 or newer) and run this again.`,
  };
}

const present: Record<ServerKind, () => boolean> = {
  postgres: () => succeeds(findPostgresBin),
  valkey: () => succeeds(findValkeyServer),
};

function succeeds(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
}

function onPath(bin: string): boolean {
  return (process.env.PATH ?? "").split(path.delimiter).some((dir) => dir && existsSync(path.join(dir, bin)));
}

/**
 * Makes sure the servers in `kinds` can be started: returns when they are there (installing them
 * as root with apt-get), throws an error that names the command to run otherwise.
 */
export async function ensureServerBinaries(kinds: ServerKind[] = ["postgres", "valkey"]): Promise<void> {
  const missing = () => kinds.filter((k) => !present[k]());
  const machine: Machine = { isRoot: process.getuid?.() === 0, hasAptGet: onPath("apt-get"), platform: process.platform };
  const decision = decideInstall(missing(), machine);
  if (decision.action === "none") return;
  if (decision.action === "ask") throw new Error(decision.message);
  // Test files start stacks side by side: one installs, the others wait and find it done.
  await withInstallLock(async () => {
    const still = decideInstall(missing(), machine);
    if (still.action !== "install") return;
    process.stderr.write(`${still.announce}\n`);
    await aptGetInstall(still.packages);
  });
  const left = missing();
  if (left.length > 0) throw new Error(`${left.map((k) => LABEL[k]).join(" and ")} still not found after apt-get install`);
}

const POLICY_RC_D = "/usr/sbin/policy-rc.d";

async function aptGetInstall(packages: string[]): Promise<void> {
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  await run("apt-get", ["update", "-qq"], env);
  // Exit status 101 tells invoke-rc.d "not now": the packages install without starting their services.
  const ownPolicy = !existsSync(POLICY_RC_D);
  if (ownPolicy) writeFileSync(POLICY_RC_D, "#!/bin/sh\nexit 101\n", { mode: 0o755 });
  try {
    await run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...packages], env);
  } finally {
    if (ownPolicy) rmSync(POLICY_RC_D, { force: true });
  }
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    // Its output goes to stderr: a test runner reads the stdout of the test files.
    const child = spawn(command, args, { env, stdio: ["ignore", process.stderr, process.stderr] });
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${args.join(" ")} failed with exit code ${code}`)),
    );
  });
}

const LOCK = path.join(os.tmpdir(), "quayside-system-install.lock");

async function withInstallLock(fn: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      const age = Date.now() - (statSafe(LOCK) ?? Date.now());
      if (age > 15 * 60_000) rmdirSafe(LOCK);
      else if (Date.now() > deadline) throw new Error(`another install holds ${LOCK}; remove it if none is running`);
      else await sleep(500);
    }
  }
  try {
    await fn();
  } finally {
    rmdirSafe(LOCK);
  }
}

function statSafe(p: string): number | null {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return null;
  }
}

function rmdirSafe(p: string): void {
  try {
    rmdirSync(p);
  } catch {
    // already gone
  }
}
