/**
 * `npm run operator -- <add|reset|disable|list> [name]`: manages operator accounts. The password
 * comes from OPERATOR_PASSWORD, or stdin: typed at a terminal without echo (twice), or the first
 * line of a pipe. It never appears in argv, the shell history or the logs.
 *
 * A person runs it, so it answers in sentences: what was done on stdout, what went wrong on stderr
 * (with a non-zero exit), never log lines.
 */
import pg from "pg";
import { operatorCommandConfigSchema } from "../../shared/command-config.schema.ts";
import { loadConfigOrExit } from "../../shared/config.ts";
import { operatorNameSchema } from "../../shared/operator.schema.ts";
import { createOperatorsRepo } from "./operators.repo.ts";
import { DEV_OPERATOR, MIN_PASSWORD_LENGTH } from "./operator-password.ts";

const USAGE = "usage: npm run operator -- add <name> | reset <name> | disable <name> | list";

const config = loadConfigOrExit(operatorCommandConfigSchema);
const [command, rawName, ...extra] = process.argv.slice(2);

function say(sentence: string): void {
  process.stdout.write(`${sentence}\n`);
}

function fail(message: string, code = 1): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

/** What went wrong, as a person can act on it (the database is the usual cause). */
function describe(err: unknown): string {
  const code = typeof err === "object" && err !== null && "code" in err ? err.code : undefined;
  if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "ETIMEDOUT")
    return "the database cannot be reached (check DATABASE_URL and that PostgreSQL is running).";
  if (code === "42P01") return "the operators table is missing: run `npm run migrate` first.";
  const message = err instanceof Error ? err.message : String(err);
  return message.endsWith(".") ? message : `${message}.`;
}

/** One line typed at the terminal, not echoed. */
function readHidden(prompt: string): Promise<string> {
  process.stderr.write(prompt);
  const stdin = process.stdin;
  stdin.setRawMode(true);
  stdin.setEncoding("utf8");
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = "";
    const finish = () => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === "\r" || ch === "\n") return (finish(), resolve(value));
        if (ch === "\u0003" || ch === "\u0004") return (finish(), reject(new Error("cancelled")));
        value = ch === "\u007f" || ch === "\b" ? value.slice(0, -1) : value + ch;
      }
    };
    stdin.on("data", onData);
  });
}

async function readPipedLine(): Promise<string> {
  let text = "";
  for await (const chunk of process.stdin) text += String(chunk);
  return text.split(/\r?\n/)[0] ?? "";
}

async function newPassword(): Promise<string> {
  if (config.OPERATOR_PASSWORD !== undefined) return config.OPERATOR_PASSWORD;
  if (!process.stdin.isTTY) return readPipedLine();
  const first = await readHidden("New password: ");
  if ((await readHidden("Same password again: ")) !== first) fail("The two passwords differ; nothing was changed.");
  return first;
}

function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) fail(`The password must be at least ${MIN_PASSWORD_LENGTH} characters.`);
  if (password.length > 1024) fail("The password must be at most 1024 characters.");
  if (password === DEV_OPERATOR.password) fail("That is the development password, which production refuses.");
}

if (extra.length > 0 || !command) fail(USAGE, 2);
const pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 2, application_name: "quayside-operator" });
const operators = createOperatorsRepo(pool);
try {
  if (command === "list") {
    const all = await operators.list();
    if (all.length === 0) say("There are no operators yet: add one with npm run operator -- add <name>.");
    for (const o of all)
      process.stdout.write(`${o.name}\t${o.disabled ? "disabled" : "enabled"}\tchanged ${o.updatedAt.toISOString()}\n`);
  } else if (command === "add" || command === "reset" || command === "disable") {
    const name = operatorNameSchema.safeParse(rawName ?? "");
    if (!name.success) fail(rawName ? (name.error.issues[0]?.message ?? USAGE) : USAGE, 2);
    if (command === "disable") {
      if (!(await operators.disable(name.data))) fail(`No enabled operator is called ${name.data}.`);
      say(`${name.data} is disabled: their access to /ops has ended.`);
    } else {
      const password = await newPassword();
      checkPassword(password);
      if (!(await operators.setPassword(name.data, password, command)))
        fail(
          command === "add"
            ? `An operator called ${name.data} exists: use reset.`
            : `No operator is called ${name.data}: use add.`,
        );
      say(
        command === "add"
          ? `${name.data} is added: sign in at /ops with that password.`
          : `${name.data} has a new password (and is enabled): their earlier sessions are signed out.`,
      );
    }
  } else {
    fail(USAGE, 2);
  }
} catch (err) {
  process.stderr.write(`The operator command failed, so nothing was changed: ${describe(err)}\n`);
  process.exitCode = 1;
} finally {
  await pool.end();
}
