/**
 * Environment configuration: one zod schema per process, parsed once at start-up.
 * A bad or missing variable stops the process with a message naming it.
 */
import { z } from "zod";

const DEV_SESSION_SECRET = "dev-only-session-secret-change-me-0123456789";

const bool = z.enum(["true", "false", "1", "0", "yes", "no"]).transform((v) => v === "true" || v === "1" || v === "yes");

const port = z.coerce.number().int().min(0).max(65535);

const common = {
  APP_PROFILE: z.enum(["dev", "prod"]).default("dev"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  LOG_FORMAT: z.enum(["json", "pretty"]).default("json"),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).default("postgres://quayside@127.0.0.1:5432/quayside"),
  VALKEY_URL: z.url({ protocol: /^rediss?$/ }).default("redis://127.0.0.1:6379"),
  RESTATE_ADMIN_URL: z.url().default("http://127.0.0.1:9070"),
  PROGRESS_STREAM_MAXLEN: z.coerce.number().int().min(10).default(1000),
  PROGRESS_STREAM_TTL_SECONDS: z.coerce.number().int().min(60).default(86_400),
};

export const webConfigSchema = z
  .object({
    ...common,
    WEB_HOST: z.string().min(1).default("127.0.0.1"),
    WEB_PORT: port.default(3000),
    RESTATE_INGRESS_URL: z.url().default("http://127.0.0.1:8080"),
    RESTATE_UI_URL: z.url().optional(),
    MAIL_UI_URL: z.url().optional(),
    SESSION_SECRET: z.string().min(32, "must be at least 32 characters").default(DEV_SESSION_SECRET),
    SESSION_TTL_SECONDS: z.coerce
      .number()
      .int()
      .min(60)
      .default(7 * 86_400),
    SSE_KEEPALIVE_MS: z.coerce.number().int().min(100).default(15_000),
    READY_CACHE_MS: z.coerce.number().int().min(0).default(2_000),
  })
  .superRefine((c, ctx) => {
    if (c.APP_PROFILE === "prod" && c.SESSION_SECRET === DEV_SESSION_SECRET) {
      ctx.addIssue({ code: "custom", path: ["SESSION_SECRET"], message: "the development default is refused in prod" });
    }
  });
export type WebConfig = z.infer<typeof webConfigSchema>;

export const workerConfigSchema = z
  .object({
    ...common,
    WORKER_HOST: z.string().min(1).default("0.0.0.0"),
    WORKER_PORT: port.default(9080),
    WORKER_PUBLIC_URL: z.url().default("http://127.0.0.1:9080"),
    WORKER_SELF_REGISTER: bool.optional(),
    WORKER_REGISTER_FORCE: bool.optional(),
    SMTP_HOST: z.string().min(1).default("127.0.0.1"),
    SMTP_PORT: port.default(1025),
    SMTP_TLS: z.enum(["none", "starttls", "implicit"]).default("none"),
    SMTP_USER: z.string().optional(),
    SMTP_PASSWORD: z.string().optional(),
    SMTP_POOL_SIZE: z.coerce.number().int().min(1).max(50).default(5),
    MAIL_FROM: z.string().min(3).default("Quayside <orders@quayside.test>"),
    PUBLIC_WEB_URL: z.url().default("http://127.0.0.1:3000"),
  })
  .transform((c) => ({
    ...c,
    // Self-registration is a development convenience; production registers as an explicit step.
    WORKER_SELF_REGISTER: c.WORKER_SELF_REGISTER ?? c.APP_PROFILE === "dev",
    WORKER_REGISTER_FORCE: c.WORKER_REGISTER_FORCE ?? c.APP_PROFILE === "dev",
  }));
export type WorkerConfig = z.infer<typeof workerConfigSchema>;

export const migrateConfigSchema = z.object({
  LOG_LEVEL: common.LOG_LEVEL,
  LOG_FORMAT: common.LOG_FORMAT,
  DATABASE_URL: common.DATABASE_URL,
});
export type MigrateConfig = z.infer<typeof migrateConfigSchema>;

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Parses the environment with `schema`; throws a ConfigError that names every bad variable. */
export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  // Empty strings count as unset, the way shells and .env files usually mean them.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `  ${i.path.join(".") || "(config)"}: ${i.message}`);
  throw new ConfigError(`invalid configuration:\n${lines.join("\n")}`);
}

/** For `main.ts` files: parse, or print the problems and exit with status 1. */
export function loadConfigOrExit<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  try {
    return loadConfig(schema, env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
}
