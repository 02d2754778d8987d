/**
 * Applies the SQL migrations in this folder with postgrator (checksums of applied files are
 * verified), serialised across processes by a PostgreSQL advisory lock held on one connection.
 */
import { fileURLToPath } from "node:url";
import pg from "pg";
import Postgrator from "postgrator";
import type { Logger } from "../shared/logger.ts";

const MIGRATION_LOCK_KEY = 7_346_118_221; // any constant shared by all runners of this schema
const MIGRATIONS_GLOB = fileURLToPath(new URL("./*.sql", import.meta.url));

export interface MigrationResult {
  applied: string[];
  version: number;
}

export async function runMigrations(databaseUrl: string, logger: Logger): Promise<MigrationResult> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: "quayside-migrate" });
  await client.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
    const postgrator = new Postgrator({
      migrationPattern: MIGRATIONS_GLOB,
      driver: "pg",
      schemaTable: "schema_migrations",
      validateChecksums: true,
      newline: "LF",
      execQuery: (query) => client.query(query),
      execSqlScript: async (sqlScript) => {
        await client.query(sqlScript);
      },
    });
    const applied = await postgrator.migrate();
    const version = await postgrator.getDatabaseVersion();
    for (const m of applied) logger.info({ migration: m.filename }, "migration applied");
    return { applied: applied.map((m) => m.filename), version };
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await client.end();
  }
}
