/**
 * What the README promises about running the shop, each held by a real process: the npm scripts
 * read `.env` and the shell's environment wins over it; `npm run dev`'s supervisor starts an app
 * that exits again and gives up after five quick failures in a row; the single `OPS_PASSWORD` of
 * earlier releases is no longer read; `npm run operator` asks for the password twice, without echo.
 */
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import pg from "pg";
import { runMigrations } from "../migrations/runner.ts";
import { freePort, startProcess } from "../scripts/stack/processes.ts";
import { ROOT, startWeb } from "../scripts/stack/stack.ts";
import { supervise } from "../scripts/stack/supervisor.ts";
import { loadConfig } from "../shared/config.ts";
import { webConfigSchema } from "../shared/web-config.schema.ts";
import { createLogger } from "../shared/logger.ts";
import { createOperatorsRepo } from "../web/operators/operators.repo.ts";
import { DEV_OPERATOR } from "../web/operators/operator-password.ts";
import { BrowserClient, extract, waitUntil } from "./helpers/browser-client.ts";
import { npmScriptCommand } from "./helpers/dev-script.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";

const run = promisify(execFile);
const scratch = mkdtempSync(path.join(os.tmpdir(), "quayside-readme-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe("settings: .env and the shell", () => {
  it("the npm scripts read .env, the shell's environment wins over it, and the last value in .env wins", async () => {
    const { scripts } = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
    for (const name of ["dev", "services", "web", "worker", "migrate", "register", "operator"])
      assert.match(scripts[name] ?? "", /^node --env-file-if-exists=\.env /, `npm run ${name} reads .env`);

    // A folder npm runs from, with a `.env` as the README shows it (a later line repeats a variable).
    const dir = mkdtempSync(path.join(scratch, "env-"));
    writeFileSync(
      path.join(dir, ".env"),
      ["ORDER_RATE_LIMIT_PER_MINUTE=5", "WEB_PORT=4100", "SHUTDOWN_DRAIN_MS=1234", "WEB_PORT=4200", ""].join("\n"),
    );
    // `npm run operator`'s own command line, with a file that prints the parsed web config in place of the command.
    const probe = path.join(dir, "print-config.ts");
    writeFileSync(
      probe,
      `import { loadConfig } from ${JSON.stringify(path.join(ROOT, "shared/config.ts"))};
import { webConfigSchema } from ${JSON.stringify(path.join(ROOT, "shared/web-config.schema.ts"))};
const c = loadConfig(webConfigSchema, process.env);
process.stdout.write(JSON.stringify({ rate: c.ORDER_RATE_LIMIT_PER_MINUTE, port: c.WEB_PORT, drain: c.SHUTDOWN_DRAIN_MS }));
`,
    );
    const { command, args } = npmScriptCommand("operator");
    assert.equal(args.at(-1), path.join(ROOT, "web/operators/operator.command.ts"));
    const child = await run(command, [...args.slice(0, -1), probe], {
      cwd: dir,
      env: { PATH: process.env.PATH, ORDER_RATE_LIMIT_PER_MINUTE: "9" },
    });
    assert.deepEqual(JSON.parse(child.stdout), {
      rate: 9, // the shell's value, not .env's 5
      port: 4200, // the last of .env's two
      drain: 1234, // read from .env
    });
  });
});

describe("npm run dev: the supervisor", () => {
  /** A tiny app: it notes its pid, exits with code 3 for its first `failingStarts` starts, then keeps running. */
  const APP = `const fs = require("node:fs");
fs.appendFileSync(process.env.STARTS_FILE, process.pid + "\\n");
const n = fs.readFileSync(process.env.STARTS_FILE, "utf8").trim().split("\\n").length;
if (n <= Number(process.env.FAILING_STARTS)) process.exit(3);
setInterval(() => {}, 60_000);`;

  /** Supervises the tiny app as `npm run dev` supervises the web, with the default policy; its log lines are kept. */
  async function supervisedApp(failingStarts: number) {
    const startsFile = path.join(mkdtempSync(path.join(scratch, "app-")), "starts");
    writeFileSync(startsFile, "");
    const lines: string[] = [];
    const logger = createLogger({
      name: "dev",
      level: "info",
      format: "json",
      destination: { write: (l: string) => void lines.push(l) },
    });
    const app = await supervise({
      name: "web",
      start: () =>
        Promise.resolve(
          startProcess({
            name: "web",
            command: process.execPath,
            args: ["--input-type=commonjs", "-e", APP],
            env: { STARTS_FILE: startsFile, FAILING_STARTS: String(failingStarts) },
            output: "ignore",
          }),
        ),
      logger,
      onStart: (p, restarts) => restarts > 0 && logger.info(`web started again (pid ${p.child.pid})`),
    });
    const messages = () => lines.map((l) => String((JSON.parse(l) as { msg?: unknown }).msg));
    const starts = () => readFileSync(startsFile, "utf8").trim().split("\n").filter(Boolean).map(Number);
    return { app, messages, starts };
  }

  it("starts a web that exits again, after 0.5 s, and the new one keeps running", async (t) => {
    const { app, messages, starts } = await supervisedApp(1);
    t.after(() => app.stop(5_000));
    const again = await waitUntil("the web started again", () => messages().find((m) => /^web started again/.test(m)));
    const current = app.current();
    assert.ok(current, "a web is running");
    assert.equal(again, `web started again (pid ${current.child.pid})`);
    assert.ok(messages().includes("web exited (code 3); starting it again in 0.5 s"), messages().join("\n"));
    // The new process notes its pid as it starts, which may be just after the supervisor says so.
    const [first, second] = await waitUntil("the second start to note its pid", () => (starts().length >= 2 ? starts() : null));
    assert.ok(first && second && first !== second, `two starts: ${starts().join(", ")}`);
    assert.equal(current.child.pid, second);
    process.kill(second, 0); // throws unless it is running
  });

  it("gives up after five quick failures in a row, says so, and starts it no more", async (t) => {
    const { app, messages, starts } = await supervisedApp(Number.MAX_SAFE_INTEGER);
    t.after(() => app.stop(5_000));
    const gaveUp = await waitUntil("the supervisor to give up", () => messages().find((m) => /keeps failing/.test(m)), 60_000);
    assert.match(gaveUp, /^web keeps failing: 5 failed starts or early exits in a row \(the last: web exited \(code 3\)\)/);
    assert.match(gaveUp, /the rest of the stack stays up/);
    // Each wait longer than the last: 0.5, 1, 2, 4 s.
    assert.deepEqual(
      messages().filter((m) => m.startsWith("web exited")),
      ["0.5", "1.0", "2.0", "4.0"].map((s) => `web exited (code 3); starting it again in ${s} s`),
    );
    assert.equal(starts().length, 5, "five starts");
    assert.equal(app.current(), null, "nothing left running");
    await app.stop(5_000);
    assert.equal(starts().length, 5, "no sixth start");
  });
});

describe("operators", () => {
  let stack: TestStack;

  before(async () => {
    stack = await startTestStack("readme-promises", { worker: false });
  });
  after(async () => {
    await stack?.stop();
  });

  /** A migrated database of its own, so no other test's operator accounts count. */
  async function freshDatabase(name: string): Promise<string> {
    const admin = new pg.Client({ connectionString: stack.services.postgres.adminUrl });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name} OWNER quayside`);
    } finally {
      await admin.end();
    }
    const url = new URL(stack.env.DATABASE_URL ?? "");
    url.pathname = `/${name}`;
    await runMigrations(url.toString(), createLogger({ name: "test", level: "silent", format: "json" }));
    return url.toString();
  }

  it("OPS_PASSWORD is no longer read: prod still refuses to start with no account, dev does not take it as a password", async () => {
    const legacy = { OPS_PASSWORD: "the-single-shared-password-of-old" };
    const databaseUrl = await freshDatabase("ops_password_check");
    assert.deepEqual(
      loadConfig(webConfigSchema, { ...stack.env, ...legacy }),
      loadConfig(webConfigSchema, stack.env),
      "setting it changes no setting",
    );

    // Production with OPS_PASSWORD and no operator account: the web refuses to start.
    const prod = spawnWeb({
      ...stack.env,
      ...legacy,
      DATABASE_URL: databaseUrl,
      APP_PROFILE: "prod",
      SESSION_SECRET: "a-long-random-production-session-secret-0123456789",
      LINK_SIGNING_KEYS: "a-long-random-production-link-signing-key-0123456789",
      WEB_PORT: String(await freePort()),
      WEB_METRICS_PORT: "0",
    });
    const refused = await prod.result;
    assert.equal(refused.code, 1, refused.output);
    assert.match(refused.output, /refusing to start: no operator accounts/);

    // Development with OPS_PASSWORD: the web starts with its development operator, and the old password opens nothing.
    const port = await freePort();
    const web = await startWeb({
      env: { ...stack.env, ...legacy, DATABASE_URL: databaseUrl, WEB_PORT: String(port), WEB_METRICS_PORT: "0" },
      port,
      output: path.join(stack.logDir, "web-ops-password.log"),
    });
    try {
      const signIn = async (name: string, password: string) => {
        const client = new BrowserClient(`http://127.0.0.1:${port}`);
        const login = await client.get("/ops");
        return client.postForm("/ops/login", { _csrf: extract(login.html, "_csrf"), name, password });
      };
      for (const name of [DEV_OPERATOR.name, "admin", "operator"]) {
        const res = await signIn(name, legacy.OPS_PASSWORD);
        assert.equal(res.status, 401, `${name} with OPS_PASSWORD`);
        assert.match(res.html, /Wrong name or password\./);
      }
      assert.equal((await signIn(DEV_OPERATOR.name, DEV_OPERATOR.password)).status, 303, "the development operator signs in");
    } finally {
      await web.stop(10_000);
    }
  });

  it("npm run operator asks for the password twice at a terminal, without echo, and refuses two that differ", async () => {
    const databaseUrl = await freshDatabase("operator_terminal_check");
    const typedOk = "harbour-lights-at-dusk-42";
    const ok = await operatorAtTerminal(databaseUrl, ["add", "ana"], [typedOk, typedOk]);
    assert.equal(ok.code, 0, ok.output);
    assert.match(ok.output, /New password: [\s\S]*Same password again: /);
    assert.ok(!ok.output.includes(typedOk), `the typed password appears on the terminal:\n${ok.output}`);

    const [first, second] = ["tide-table-first-entry", "tide-table-other-entry"];
    const differ = await operatorAtTerminal(databaseUrl, ["add", "bob"], [first, second]);
    assert.equal(differ.code, 1, differ.output);
    assert.match(differ.output, /The two passwords differ; nothing was changed\./);
    assert.ok(!differ.output.includes(first) && !differ.output.includes(second), differ.output);

    const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
    try {
      const accounts = createOperatorsRepo(pool);
      assert.equal((await accounts.authenticate("ana", typedOk))?.name, "ana", "ana's password is the one typed twice");
      const names = (await accounts.list()).map((a) => a.name);
      assert.ok(!names.includes("bob"), "no account from two passwords that differ");
    } finally {
      await pool.end();
    }
  });
});

/** Starts `web/main.ts`; `result` resolves with its output once it listens (then it is stopped) or exits. */
function spawnWeb(env: NodeJS.ProcessEnv) {
  const outFile = path.join(mkdtempSync(path.join(scratch, "web-")), "web.log");
  const proc = startProcess({
    name: "web",
    command: process.execPath,
    args: [path.join(ROOT, "web/main.ts")],
    env,
    output: outFile,
  });
  const output = () => readFileSync(outFile, "utf8");
  let exited = false;
  void proc.exited.then(() => (exited = true));
  const result = (async () => {
    await waitUntil("the web to listen or exit", () => exited || output().includes("web listening"), 60_000);
    if (!exited) await proc.stop(10_000);
    return { code: await proc.exited, output: output() };
  })();
  return { result };
}

/**
 * Runs `npm run operator -- <args>` through a real pseudo-terminal (python3's `pty`), typing each
 * of `typed` at its prompt once the terminal's echo is off (or after 20 s, when it never goes off),
 * and answers with everything the terminal showed.
 */
async function operatorAtTerminal(databaseUrl: string, args: string[], typed: [string, string]) {
  const DRIVER = `
import os, pty, select, sys, termios, time
pid, fd = pty.fork()
if pid == 0:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TYPED_")}
    os.execvpe(sys.argv[1], sys.argv[1:], env)
out = b""
def read_until(marker):
    global out
    deadline = time.monotonic() + 60
    while marker not in out and time.monotonic() < deadline:
        if select.select([fd], [], [], 0.1)[0]:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                return False
            if not chunk:
                return False
            out += chunk
    return marker in out
def echo_off():
    deadline = time.monotonic() + 20
    while termios.tcgetattr(fd)[3] & termios.ECHO and time.monotonic() < deadline:
        time.sleep(0.01)
for prompt, typed in ((b"New password: ", os.environ["TYPED_1"]), (b"Same password again: ", os.environ["TYPED_2"])):
    if not read_until(prompt):
        break
    echo_off()
    os.write(fd, typed.encode() + b"\\r")
while True:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(status))
`;
  const { command, args: scriptArgs } = npmScriptCommand("operator");
  const child = spawn("python3", ["-c", DRIVER, command, ...scriptArgs, ...args], {
    cwd: scratch,
    env: { PATH: process.env.PATH, DATABASE_URL: databaseUrl, LOG_LEVEL: "info", TYPED_1: typed[0], TYPED_2: typed[1] },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let output = "";
  child.stdout.on("data", (d) => (output += String(d)));
  return new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, output }));
  });
}
