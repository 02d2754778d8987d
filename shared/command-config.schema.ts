/** The one-off commands' environment (`npm run migrate`, `npm run operator`): the database and logging. */
import { z } from "zod";
import { common } from "./common-config.schema.ts";

export const migrateConfigSchema = z.object({
  LOG_LEVEL: common.LOG_LEVEL,
  LOG_FORMAT: common.LOG_FORMAT,
  DATABASE_URL: common.DATABASE_URL,
});

/** `npm run operator`: the database, and optionally the new password (otherwise read from stdin). */
export const operatorCommandConfigSchema = migrateConfigSchema.extend({
  OPERATOR_PASSWORD: z.string().optional(),
});
