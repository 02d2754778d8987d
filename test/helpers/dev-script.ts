/**
 * `npm run dev` and `npm run services` as a person runs them: the script line from package.json
 * (with its `--env-file-if-exists=.env`, read from `cwd`), every DEV_*_PORT on a free port, a data
 * folder of its own, output to a log file that the test reads like a terminal.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { freePort, startProcess, type Managed } from "../../scripts/stack/processes.ts";
import { ROOT } from "../../scripts/stack/stack.ts";
import { waitUntil } from "./browser-client.ts";

export const DEV_PORT_NAMES = [
  "WEB",
  "WORKER",
  "INGRESS",
  "ADMIN",
  "RESTATE_NODE",
  "POSTGRES",
  "VALKEY",
  "SMTP",
  "MAIL_UI",
  "WEB_METRICS",
  "WORKER_METRICS",
  "STRIPE",
] as const;
export type DevPortName = (typeof DEV_PORT_NAMES)[number];

export interface DevScript {
  proc: Managed;
  ports: Record<DevPortName, number>;
  /** What the script has printed so far, without colours. */
  output(): string;
  /** Resolves with the first match of `pattern` in the output. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

/** The package.json script `name` as a command line: `node` is this Node, repository files absolute. */
export function npmScriptCommand(name: string): { command: string; args: string[] } {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
  const line = pkg.scripts[name];
  if (!line) throw new Error(`no npm script ${name}`);
  const [node, ...args] = line.split(/\s+/);
  if (node !== "node") throw new Error(`npm script ${name} does not start with node: ${line}`);
  return {
    command: process.execPath,
    args: args.map((a) => (!a.startsWith("-") && existsSync(path.join(ROOT, a)) ? path.join(ROOT, a) : a)),
  };
}

export async function startDevScript(opts: {
  script: "dev" | "services";
  cwd: string;
  dataDir: string;
  logFile: string;
  env?: NodeJS.ProcessEnv;
}): Promise<DevScript> {
  const ports = {} as Record<DevPortName, number>;
  for (const n of DEV_PORT_NAMES) ports[n] = await freePort();
  const { command, args } = npmScriptCommand(opts.script);
  const proc = startProcess({
    name: opts.script,
    command,
    args,
    cwd: opts.cwd,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DEV_DATA_DIR: opts.dataDir,
      ...Object.fromEntries(DEV_PORT_NAMES.map((n) => [`DEV_${n}_PORT`, String(ports[n])])),
      ...opts.env,
    },
    output: opts.logFile,
  });
  let exited = false;
  void proc.exited.then(() => (exited = true));
  // eslint-disable-next-line no-control-regex
  const output = () => readFileSync(opts.logFile, "utf8").replace(/\x1b\[[0-9;]*m/g, "");
  const waitForOutput = (pattern: RegExp, timeoutMs = 90_000) =>
    waitUntil(
      `${pattern} in the output of npm run ${opts.script}`,
      () => {
        const m = output().match(pattern);
        if (!m && exited) throw new Error(`npm run ${opts.script} exited:\n${output().slice(-3000)}`);
        return m;
      },
      timeoutMs,
    );
  return { proc, ports, output, waitForOutput };
}
