/**
 * `npm run operator -- <add|reset|disable|list> [name]`: manages operator accounts. The password
 * comes from OPERATOR_PASSWORD, or stdin: typed at a terminal without echo (twice), or the first
 * line of a pipe. It never appears in argv, the shell history or the logs.
 */
import pg from "pg";
import { loadConfigOrExit, operatorCommandConfigSchema } from "../shared/config.ts";
import { createLogger } from "../shared/logger.ts";
import { operatorNameSchema } from "../shared/operator.schema.ts";
import { createOperatorsRepo } from "./adapters/operators.repo.ts";
import { DEV_OPERATOR, MIN_PASSWORD_LENGTH } from "./operator-password.ts";

const USAGE = "usage: npm run operator -- add <name> | reset <name> | disable <name> | list";

const config = loadConfigOrExit(operatorCommandConfigSchema);
const logger = createLogger({ name: "operator", level: config.LOG_LEVEL, format: config.LOG_FORMAT });
const [command, rawName, ...extra] = process.argv.slice(2);

function fail(message: string, code = 1): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
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
    for (const o of await operators.list())
      process.stdout.write(`${o.name}\t${o.disabled ? "disabled" : "enabled"}\tchanged ${o.updatedAt.toISOString()}\n`);
  } else if (command === "add" || command === "reset" || command === "disable") {
    const name = operatorNameSchema.safeParse(rawName ?? "");
    if (!name.success) fail(rawName ? (name.error.issues[0]?.message ?? USAGE) : USAGE, 2);
    if (command === "disable") {
      if (!(await operators.disable(name.data))) fail(`No enabled operator is called ${name.data}.`);
      logger.info({ operator: name.data }, "operator disabled");
    } else {
      const password = await newPassword();
      checkPassword(password);
      if (!(await operators.setPassword(name.data, password, command)))
        fail(
          command === "add"
            ? `An operator called ${name.data} exists: use reset.`
            : `No operator is called ${name.data}: use add.`,
        );
      logger.info({ operator: name.data }, command === "add" ? "operator added" : "operator password reset");
    }
  } else {
    fail(USAGE, 2);
  }
} catch (err) {
  logger.fatal({ err }, "operator command failed");
  process.exitCode = 1;
} finally {
  await pool.end();
}
