/**
 * The configuration pieces more than one process reads, with the checks that go with them: each
 * process's schema (web-config, worker-config, command-config) spreads the ones it needs.
 */
import { z } from "zod";

const DEV_LINK_SIGNING_KEY = "dev-only-link-signing-key-change-me-0123456789";

export const bool = z.enum(["true", "false", "1", "0", "yes", "no"]).transform((v) => v === "true" || v === "1" || v === "yes");

export const port = z.coerce.number().int().min(0).max(65535);

export const common = {
  APP_PROFILE: z.enum(["dev", "prod"]).default("dev"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  LOG_FORMAT: z.enum(["json", "pretty"]).default("json"),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).default("postgres://quayside@127.0.0.1:5432/quayside"),
  VALKEY_URL: z.url({ protocol: /^rediss?$/ }).default("redis://127.0.0.1:6379"),
  // Cluster mode: the seed nodes, `host:port,host:port`. Credentials and TLS still come from VALKEY_URL.
  VALKEY_CLUSTER_NODES: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.split(",").map((n) => n.trim())))
    .pipe(
      z
        .array(z.string().regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, "each node must be host:port"))
        .min(1)
        .optional(),
    ),
  RESTATE_ADMIN_URL: z.url().default("http://127.0.0.1:9070"),
  PROGRESS_STREAM_MAXLEN: z.coerce.number().int().min(10).default(1000),
  PROGRESS_STREAM_TTL_SECONDS: z.coerce.number().int().min(60).default(86_400),
  // SIGTERM: how long in-flight work may take to finish before the process exits (below the 30 s grace).
  SHUTDOWN_DRAIN_MS: z.coerce.number().int().min(0).max(120_000).default(25_000),
  // The operations port (metrics, and probes for the worker) listens here; 0 turns it off.
  OPS_HOST: z.string().min(1).default("0.0.0.0"),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  OTEL_SERVICE_NAME: z.string().min(1).max(100).optional(),
  ALLOW_PRETTY_LOGS: bool.optional(),
  // The web refuses larger campaigns with a 422; the worker refuses them as invalid input.
  CAMPAIGN_MAX_RECIPIENTS: z.coerce.number().int().min(1).max(10_000).default(1_000),
};

// Signed links to one order, job or campaign (shared/resource-link.ts): the worker signs the links in
// emails, the web verifies them (and signs share links), so both read the same keys.
export const links = {
  // Comma-separated, newest first: the first key signs, every key verifies (rotation).
  LINK_SIGNING_KEYS: z
    .string()
    .default(DEV_LINK_SIGNING_KEY)
    .transform((v) =>
      v
        .split(",")
        .map((k) => k.trim())
        .filter((k) => k !== ""),
    )
    .pipe(z.array(z.string().min(32, "each key must be at least 32 characters")).min(1, "needs at least one key")),
  LINK_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(300)
    .max(366 * 86_400)
    .default(30 * 86_400),
};

export function refineLinks(c: { APP_PROFILE: string; LINK_SIGNING_KEYS: string[] }, ctx: z.RefinementCtx): void {
  if (c.APP_PROFILE === "prod" && c.LINK_SIGNING_KEYS.includes(DEV_LINK_SIGNING_KEY)) {
    ctx.addIssue({ code: "custom", path: ["LINK_SIGNING_KEYS"], message: "the development default is refused in prod" });
  }
}

/** Prod logs are JSON for the log pipeline, unless traces go to a collector or it is acknowledged. */
export function refineLogging(
  c: {
    APP_PROFILE: string;
    LOG_FORMAT: string;
    OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined;
    ALLOW_PRETTY_LOGS?: boolean | undefined;
  },
  ctx: z.RefinementCtx,
): void {
  if (c.APP_PROFILE === "prod" && c.LOG_FORMAT !== "json" && !c.OTEL_EXPORTER_OTLP_ENDPOINT && c.ALLOW_PRETTY_LOGS !== true) {
    const message = "non-JSON logs without OTLP are refused in prod: use LOG_FORMAT=json, or set ALLOW_PRETTY_LOGS=true";
    ctx.addIssue({ code: "custom", path: ["LOG_FORMAT"], message });
  }
}
