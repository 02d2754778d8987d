/** `npm run migrate`: apply pending migrations to DATABASE_URL and exit. */
import { migrateConfigSchema } from "../shared/command-config.schema.ts";
import { loadConfigOrExit } from "../shared/config.ts";
import { createLogger } from "../shared/logger.ts";
import { runMigrations } from "./runner.ts";

const config = loadConfigOrExit(migrateConfigSchema);
const logger = createLogger({ name: "migrate", level: config.LOG_LEVEL, format: config.LOG_FORMAT });
try {
  const result = await runMigrations(config.DATABASE_URL, logger);
  logger.info({ version: result.version, applied: result.applied.length }, "database is up to date");
} catch (err) {
  logger.error({ err }, "migration failed");
  process.exitCode = 1;
}
