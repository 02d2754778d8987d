/** Operator accounts for tests, made the way an administrator makes them: `npm run operator`. */
import { spawn } from "node:child_process";
import path from "node:path";
import { ROOT } from "../../scripts/stack/stack.ts";
import { BrowserClient, extract } from "./browser-client.ts";

export interface CommandRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `web/operators/operator.command.ts` against the stack's database, with `stdin` piped in. */
export function operatorCommand(
  env: NodeJS.ProcessEnv,
  args: string[],
  opts: { stdin?: string; extraEnv?: NodeJS.ProcessEnv } = {},
): Promise<CommandRun> {
  const child = spawn(process.execPath, [path.join(ROOT, "web/operators/operator.command.ts"), ...args], {
    env: { PATH: env.PATH, DATABASE_URL: env.DATABASE_URL, LOG_LEVEL: "info", ...opts.extraEnv },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += String(d)));
  child.stderr.on("data", (d) => (stderr += String(d)));
  child.stdin.end(opts.stdin ?? "");
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Adds an operator (the password piped in on stdin); throws if the command fails. */
export async function addOperator(env: NodeJS.ProcessEnv, name: string, password: string): Promise<void> {
  const run = await operatorCommand(env, ["add", name], { stdin: `${password}\n` });
  if (run.code !== 0) throw new Error(`npm run operator -- add ${name} failed (${run.code}): ${run.stderr}`);
}

/** A browser client signed in to /ops as `name` (the sign-in must answer 303). */
export async function signInOperator(webUrl: string, name: string, password: string): Promise<BrowserClient> {
  const client = new BrowserClient(webUrl);
  const login = await client.get("/ops");
  const res = await client.postForm("/ops/login", { _csrf: extract(login.html, "_csrf"), name, password });
  if (res.status !== 303) throw new Error(`signing in as ${name} answered ${res.status}`);
  return client;
}
