/**
 * What the local stack, the browser tests and the deploy checks take from the system: PostgreSQL,
 * Valkey (or Redis), Chromium and Caddy. When one is missing, root with apt-get installs it (announced, non-interactive, a
 * packaged service kept stopped: the stack starts its own on its own ports), the way `playwright
 * install --with-deps` does; anyone else, or an install that fails (no network), is told the one
 * command to run. `decideInstall`, `askToInstall` and `findChromium` are the decisions, pure; `ensureSystemPrograms`
 * looks at the machine and carries them out.
 */
import { spawn } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, rmSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { findPostgresBin } from "./postgres.ts";
import { findValkeyServer } from "./valkey.ts";

export type SystemProgram = "postgres" | "valkey" | "chromium" | "caddy";

export interface Machine {
  isRoot: boolean;
  hasAptGet: boolean;
  platform: NodeJS.Platform;
}

export type InstallDecision =
  { action: "none" } | { action: "install"; packages: string[]; announce: string } | { action: "ask"; message: string };

const LABEL: Record<SystemProgram, string> = {
  postgres: "PostgreSQL server binaries",
  valkey: "valkey-server or redis-server",
  chromium: "Chromium (for the browser tests)",
  caddy: "Caddy (for the deploy checks)",
};
// Debian's names (bookworm has no valkey package; Redis speaks the same protocol).
const APT: Record<SystemProgram, string> = {
  postgres: "postgresql",
  valkey: "redis-server",
  chromium: "chromium",
  caddy: "caddy",
};
const BREW: Record<SystemProgram, string> = {
  postgres: "postgresql@17",
  valkey: "valkey",
  chromium: "--cask chromium",
  caddy: "caddy",
};
const GENERIC: Record<SystemProgram, string> = {
  postgres: "PostgreSQL 15 or newer",
  valkey: "Valkey or Redis 7 or newer",
  chromium: "Chromium",
  caddy: "Caddy 2.6 or newer",
};

/** What to do about the programs in `missing` on `machine`: nothing, install them, or ask the user to. */
export function decideInstall(missing: SystemProgram[], machine: Machine): InstallDecision {
  if (missing.length === 0) return { action: "none" };
  if (machine.platform === "linux" && machine.hasAptGet && machine.isRoot) {
    const apt = missing.map((k) => APT[k]);
    return {
      action: "install",
      packages: apt,
      announce: `${labels(missing)} not found: installing ${apt.join(" ")} with apt-get (non-interactive; packaged services stay stopped)`,
    };
  }
  return { action: "ask", message: askToInstall(missing, machine) };
}

/** The plain message for programs this process could not install: what is missing, and the command. */
export function askToInstall(missing: SystemProgram[], machine: Machine, failure?: string): string {
  const what = labels(missing);
  const command =
    machine.platform === "linux" && machine.hasAptGet
      ? `${machine.isRoot ? "" : "sudo "}apt-get install -y ${missing.map((k) => APT[k]).join(" ")}`
      : machine.platform === "darwin"
        ? `brew install ${missing.map((k) => BREW[k]).join(" ")}`
        : null;
  const why = failure
    ? `${what} not found, and installing ${missing.length > 1 ? "them" : "it"} failed (${failure}).`
    : `${what} not found.`;
  const how = command
    ? ` Install with:\n\n  ${command}\n`
    : ` Install ${missing.map((k) => GENERIC[k]).join(" and ")} with your package manager and run this again.`;
  const chromium = missing.includes("chromium") ? "\nOr set CHROMIUM_PATH to a Chromium binary you have." : "";
  return `${why}${how}${chromium}`;
}

const labels = (missing: SystemProgram[]) => missing.map((k) => LABEL[k]).join(" and ");

/**
 * The Chromium the browser tests drive: `CHROMIUM_PATH` if set (null if nothing is there), else the
 * first `chromium` on `PATH` (Debian's package puts it in /usr/bin). Null when there is none.
 */
export function findChromium(env: { CHROMIUM_PATH?: string; PATH?: string }): string | null {
  if (env.CHROMIUM_PATH) return executable(env.CHROMIUM_PATH) ? env.CHROMIUM_PATH : null;
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    if (dir && executable(path.join(dir, "chromium"))) return path.join(dir, "chromium");
  }
  return null;
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

const present: Record<SystemProgram, () => boolean> = {
  postgres: () => succeeds(findPostgresBin),
  valkey: () => succeeds(findValkeyServer),
  chromium: () => findChromium(process.env) !== null,
  caddy: () => onPath("caddy"),
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
 * Makes sure the programs in `kinds` can be started: returns when they are there (installing them
 * as root with apt-get), throws an error that names the command to run otherwise.
 */
export async function ensureSystemPrograms(kinds: SystemProgram[]): Promise<void> {
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
    try {
      await aptGetInstall(still.packages);
    } catch (err) {
      throw new Error(askToInstall(missing(), machine, err instanceof Error ? err.message : String(err)), { cause: err });
    }
  });
  const left = missing();
  if (left.length > 0) throw new Error(`${labels(left)} still not found after apt-get install`);
}

/**
 * The Chromium to drive, installed first when it is missing and this process may install it. A
 * `CHROMIUM_PATH` that points at nothing is the user's to fix: nothing is installed for it.
 */
export async function ensureChromium(): Promise<string> {
  const configured = process.env.CHROMIUM_PATH;
  if (configured && !findChromium(process.env)) {
    throw new Error(`CHROMIUM_PATH is ${configured}, where there is no executable: point it at a Chromium binary, or unset it.`);
  }
  await ensureSystemPrograms(["chromium"]);
  return findChromium(process.env)!;
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
