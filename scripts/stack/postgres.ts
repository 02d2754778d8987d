/**
 * A throwaway or development PostgreSQL from the system's binaries (Debian: /usr/lib/postgresql/N/bin).
 * PostgreSQL refuses to run as root, so as root the server runs as the `postgres` system user.
 */
import { execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { startProcess, waitFor, type Managed } from "./processes.ts";

export function findPostgresBin(): string {
  const debianRoot = "/usr/lib/postgresql";
  if (existsSync(debianRoot)) {
    const versions = readdirSync(debianRoot)
      .filter((v) => existsSync(path.join(debianRoot, v, "bin", "postgres")))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return path.join(debianRoot, versions[0], "bin");
  }
  // pg_config also comes with the client libraries (libpq-dev) alone: its bindir counts only if the server is in it.
  let bindir = "";
  try {
    bindir = execFileSync("pg_config", ["--bindir"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    // no pg_config either
  }
  if (bindir && existsSync(path.join(bindir, "postgres")) && existsSync(path.join(bindir, "initdb"))) return bindir;
  throw new Error("PostgreSQL server binaries not found. Install them: `apt-get install postgresql` (15 or newer).");
}

function runAsUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    return { uid, gid };
  } catch {
    throw new Error("Running as root needs the `postgres` system user (created by `apt-get install postgresql`).");
  }
}

/** The `postgres` user must be able to walk down to its data folder. */
function assertReachable(dir: string, uid: number): void {
  for (let d = path.dirname(dir); d !== path.dirname(d); d = path.dirname(d)) {
    const st = statSync(d);
    const traversable = st.uid === uid || (st.mode & 0o001) !== 0;
    if (!traversable) {
      throw new Error(
        `PostgreSQL runs as the postgres user, which cannot enter ${d}; move the data folder or run \`chmod o+x ${d}\``,
      );
    }
  }
}

/** What a stack needs of its database: where it is, and how to be done with it. */
export interface PostgresDatabase {
  /** Superuser URL, for creating databases. */
  adminUrl: string;
  /** URL of the application database, owned by the application role. */
  url: string;
  stop(graceMs?: number): Promise<void>;
  kill(): Promise<void>;
}

/** A server of the stack's own, with its application database. */
export interface PostgresHandle extends Managed, PostgresDatabase {}

/** True when the stack runs the server itself (so it can be stopped, killed and restarted). */
export function ownsServer(db: PostgresDatabase): db is PostgresHandle {
  return "child" in db;
}

export interface PostgresOptions {
  port: number;
  dataDir: string;
  logFile: string;
  database: string;
  user: string;
  /** Durability off: for throwaway test databases only. */
  fast?: boolean;
}

export async function startPostgres(opts: PostgresOptions): Promise<PostgresHandle> {
  const bin = findPostgresBin();
  const as = runAsUser();
  const dataDir = path.resolve(opts.dataDir);
  const fresh = !existsSync(path.join(dataDir, "PG_VERSION"));
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (as) {
    chownSync(dataDir, as.uid, as.gid);
    assertReachable(dataDir, as.uid);
  }
  if (fresh) {
    try {
      execFileSync(
        path.join(bin, "initdb"),
        ["-D", dataDir, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-instructions"],
        { stdio: ["ignore", "ignore", "pipe"], ...(as ?? {}) },
      );
    } catch (err) {
      const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
      throw new Error(`initdb failed for ${dataDir}: ${stderr || String(err)}`, { cause: err });
    }
  }
  const settings = [
    `listen_addresses=127.0.0.1`,
    `unix_socket_directories=`,
    `max_connections=200`,
    ...(opts.fast ? ["fsync=off", "synchronous_commit=off", "full_page_writes=off"] : []),
  ];
  const proc = startProcess({
    name: "postgres",
    command: path.join(bin, "postgres"),
    args: ["-D", dataDir, "-p", String(opts.port), ...settings.flatMap((s) => ["-c", s])],
    output: opts.logFile,
    stopSignal: "SIGINT", // "fast" shutdown: SIGTERM would wait for every client to disconnect
    ...(as ?? {}),
  });
  const adminUrl = `postgres://postgres@127.0.0.1:${opts.port}/postgres`;
  await waitFor(
    "postgres",
    async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.end();
      return true;
    },
    { proc, timeoutMs: 30_000, intervalMs: 100 },
  );
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const role = await admin.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [opts.user]);
    if (role.rowCount === 0) await admin.query(`CREATE ROLE ${pg.escapeIdentifier(opts.user)} LOGIN`);
    const db = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [opts.database]);
    if (db.rowCount === 0) {
      await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(opts.database)} OWNER ${pg.escapeIdentifier(opts.user)}`);
    }
  } finally {
    await admin.end();
  }
  return { ...proc, adminUrl, url: `postgres://${opts.user}@127.0.0.1:${opts.port}/${opts.database}` };
}

/**
 * A database of its own on a server that is already running, copied from a migrated template: a
 * copy takes milliseconds where initdb and migrations take seconds, so the test suite runs one
 * server for all its files. Stopping (or "killing") it drops the database, never the server.
 */
export async function createDatabaseFrom(opts: {
  adminUrl: string;
  template: string;
  database: string;
  user: string;
}): Promise<PostgresDatabase> {
  const admin = async <T>(work: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: opts.adminUrl });
    await c.connect();
    try {
      return await work(c);
    } finally {
      await c.end();
    }
  };
  const name = pg.escapeIdentifier(opts.database);
  // Two copies of one template at the same moment can be refused ("being accessed by other
  // users"): a bounded number of tries, each after the other copy had time to finish.
  for (let attempt = 1; ; attempt++) {
    try {
      await admin((c) =>
        c.query(`CREATE DATABASE ${name} TEMPLATE ${pg.escapeIdentifier(opts.template)} OWNER ${pg.escapeIdentifier(opts.user)}`),
      );
      break;
    } catch (err) {
      if (attempt >= 20 || !/being accessed by other users/.test(String(err))) throw err;
      await new Promise((r) => setTimeout(r, 100 * attempt));
    }
  }
  const url = new URL(opts.adminUrl);
  url.username = opts.user;
  url.pathname = `/${opts.database}`;
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  };
  return { adminUrl: opts.adminUrl, url: url.toString(), stop: drop, kill: drop };
}
