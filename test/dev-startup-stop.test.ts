/**
 * Ctrl+C while `npm run dev` is starting: whatever it has started, or is in the middle of
 * starting, is stopped before it exits. Each case starts the script afresh (its package.json line,
 * every DEV_*_PORT free, a data folder of its own) in a process group of its own, sends it SIGINT
 * the moment it prints one of its start-up lines, and once it has exited checks that no process of
 * that group is left and that every port it was given is free. Every process the script starts
 * stays in its group (PostgreSQL's backends leave it, and end with their postmaster, which does
 * not), so a process started after the stop began is caught as surely as one started before it.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { freePort, portIsFree } from "../scripts/stack/processes.ts";
import { ROOT } from "../scripts/stack/stack.ts";
import { DEV_PORT_NAMES, npmScriptCommand, type DevPortName } from "./helpers/dev-script.ts";

/** The lines the script prints while it starts, in order, and what is going on when each appears. */
const STOP_POINTS: { when: string; line: RegExp; signals?: number }[] = [
  { when: "the backing services are starting", line: /starting restate-server, PostgreSQL, Valkey/ },
  { when: "migrations are being applied", line: /migration applied/ },
  { when: "the worker listens but is not yet registered", line: /worker endpoint listening/ },
  { when: "the worker has registered", line: /registered with Restate/ },
  { when: "the web listens but has not yet answered /ready", line: /web listening/ },
  { when: "Ctrl+C is pressed twice as the web comes up", line: /web listening/, signals: 2 },
  { when: "everything is up", line: /Quayside is up/ },
];

/** Generous: a loaded CI machine is several times slower than a quiet one. */
const LINE_TIMEOUT_MS = 150_000;
const EXIT_TIMEOUT_MS = 120_000;

// eslint-disable-next-line no-control-regex
const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "");

/** The processes of process group `pgid` that still run (a zombie holds no port and runs nothing). */
function groupMembers(pgid: number): string[] {
  const found: string[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // pid (comm) state ppid pgrp …: comm may hold spaces and parentheses, so split after the last ")".
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(pgrp) !== pgid || state === "Z") continue;
      const cmd = readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ").trim();
      found.push(`${entry} ${cmd}`);
    } catch {
      // exited while we read it
    }
  }
  return found;
}

interface StopRun {
  code: number | null;
  pid: number;
  ports: Record<DevPortName, number>;
  output: string;
}

/** Runs `npm run dev` until `line` appears, sends SIGINT `signals` times, and waits for it to exit. */
async function stopDevAt(opts: {
  dir: string;
  line: RegExp;
  signals: number;
  logFile: string;
  /** Told the pid (and so the process group) as soon as the script is started. */
  onStart: (pid: number) => void;
}): Promise<StopRun> {
  const { dir, line, signals } = opts;
  const ports = {} as Record<DevPortName, number>;
  for (const n of DEV_PORT_NAMES) ports[n] = await freePort();
  const { command, args } = npmScriptCommand("dev");
  const child = spawn(command, args, {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DEV_DATA_DIR: path.join(dir, "data"),
      ...Object.fromEntries(DEV_PORT_NAMES.map((n) => [`DEV_${n}_PORT`, String(ports[n])])),
    },
    detached: true, // a process group of its own, which every process it starts joins
    stdio: ["ignore", "pipe", "pipe"],
  });
  const pid = child.pid!;
  opts.onStart(pid);
  let output = "";
  let signalled = false;
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const onData = (chunk: Buffer) => {
    output += plain(chunk.toString("utf8"));
    if (!signalled && line.test(output)) {
      signalled = true;
      for (let i = 0; i < signals; i++) child.kill("SIGINT");
    }
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  const bounded = (ms: number, what: string) =>
    new Promise<never>((_, reject) => {
      const timer = setTimeout(() => reject(new Error(`${what} after ${ms} ms:\n${output.slice(-4000)}`)), ms);
      void exited.then(() => clearTimeout(timer));
    });
  try {
    const code = await Promise.race([exited, bounded(LINE_TIMEOUT_MS + EXIT_TIMEOUT_MS, "npm run dev did not exit")]);
    assert.ok(signalled, `npm run dev exited (code ${code}) before printing ${line}:\n${output.slice(-4000)}`);
    return { code, pid, ports, output };
  } finally {
    writeFileSync(opts.logFile, output);
    // A survivor would keep the pipes open: stop reading, so this file can end whatever the outcome.
    child.stdout.destroy();
    child.stderr.destroy();
  }
}

describe("Ctrl+C during npm run dev's start-up", () => {
  const root = mkdtempSync(path.join(os.tmpdir(), "quayside-dev-stop-"));
  chmodSync(root, 0o755); // PostgreSQL runs as the postgres user when the tests run as root
  const logDir = path.join(ROOT, "test-results", "dev-startup-stop");
  mkdirSync(logDir, { recursive: true });
  const groups: number[] = [];
  after(() => {
    // Whatever a failed case left behind: the groups this file started, and only those.
    for (const pgid of groups) {
      try {
        process.kill(-pgid, "SIGKILL");
      } catch {
        // nothing left in it
      }
    }
    rmSync(root, { recursive: true, force: true });
  });

  STOP_POINTS.forEach(({ when, line, signals = 1 }, i) => {
    it(`leaves no process and no port when ${when}`, async () => {
      const dir = path.join(root, String(i));
      mkdirSync(dir, { mode: 0o755 });
      const logFile = path.join(logDir, `${i}.log`);
      const run = await stopDevAt({ dir, line, signals, logFile, onStart: (pid) => groups.push(pid) });
      assert.match(run.output, /stopping…/);
      const left = groupMembers(run.pid);
      assert.deepEqual(left, [], `still running after npm run dev exited:\n  ${left.join("\n  ")}`);
      for (const n of DEV_PORT_NAMES) assert.ok(await portIsFree(run.ports[n]), `the port of ${n} (${run.ports[n]}) is free`);
      assert.equal(run.code, 0, "a stop is a clean exit");
    });
  });
});
