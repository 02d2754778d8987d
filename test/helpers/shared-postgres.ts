/** Where the suite's shared PostgreSQL is (set by global-setup.ts), and a database of one's own on it. */
import { randomBytes } from "node:crypto";
import { createDatabaseFrom, type PostgresDatabase } from "../../scripts/stack/postgres.ts";

export const SHARED_POSTGRES_ENV = "QUAYSIDE_TEST_POSTGRES_ADMIN_URL";
export const SHARED_TEMPLATE = "quayside_template";

/** A factory for a fresh migrated database on the shared server, or undefined when there is none. */
export function sharedDatabase(name: string): (() => Promise<PostgresDatabase>) | undefined {
  const adminUrl = process.env[SHARED_POSTGRES_ENV];
  if (!adminUrl) return undefined;
  const database = `t_${name.replace(/\W/g, "_").slice(0, 40)}_${randomBytes(4).toString("hex")}`;
  return () => createDatabaseFrom({ adminUrl, template: SHARED_TEMPLATE, database, user: "quayside" });
}
