/**
 * Once per `npm test`, before any file runs: one PostgreSQL server for the whole suite, with a
 * migrated template database. Each test file's stack copies the template into a database of its
 * own (`startTestStack`), so files stay isolated without paying initdb and migrations each. A file
 * run on its own (`node --test test/x.test.ts`) has no shared server and starts its own, as before.
 */
import { mkdtempSync, rmSync, chmodSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { runMigrations } from "../../migrations/runner.ts";
import { createLogger } from "../../shared/logger.ts";
import { startPostgres, type PostgresHandle } from "../../scripts/stack/postgres.ts";
import { freePort } from "../../scripts/stack/processes.ts";
import { ensureSystemPrograms } from "../../scripts/stack/system-packages.ts";
import { SHARED_POSTGRES_ENV, SHARED_TEMPLATE } from "./shared-postgres.ts";

let server: PostgresHandle | undefined;
let dataDir = "";

export async function globalSetup(): Promise<void> {
  await ensureSystemPrograms(["postgres", "valkey"]);
  dataDir = mkdtempSync(path.join(os.tmpdir(), "quayside-suite-pg-"));
  chmodSync(dataDir, 0o755); // PostgreSQL runs as the postgres user when the tests run as root
  server = await startPostgres({
    port: await freePort(),
    dataDir: path.join(dataDir, "data"),
    logFile: path.join(dataDir, "postgres.log"),
    database: SHARED_TEMPLATE,
    user: "quayside",
    fast: true,
  });
  await runMigrations(server.url, createLogger({ name: "test-setup", level: "warn", format: "json" }));
  process.env[SHARED_POSTGRES_ENV] = server.adminUrl;
}

export async function globalTeardown(): Promise<void> {
  await server?.stop(5_000);
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}
