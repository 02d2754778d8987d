/**
 * Environment configuration: one zod schema per process (web-config, worker-config and
 * command-config, built from common-config and payment-config), parsed once at start-up by this
 * loader. A bad or missing variable stops the process with a message naming it.
 */
import type { z } from "zod";

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
