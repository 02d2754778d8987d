/**
 * Environment configuration: one zod schema per process, parsed once at start-up.
 * A bad or missing variable stops the process with a message naming it.
 */
import { z } from "zod";

const DEV_SESSION_SECRET = "dev-only-session-secret-change-me-0123456789";
const DEV_LINK_SIGNING_KEY = "dev-only-link-signing-key-change-me-0123456789";

const bool = z.enum(["true", "false", "1", "0", "yes", "no"]).transform((v) => v === "true" || v === "1" || v === "yes");

const port = z.coerce.number().int().min(0).max(65535);

const common = {
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
const links = {
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

function refineLinks(c: { APP_PROFILE: string; LINK_SIGNING_KEYS: string[] }, ctx: z.RefinementCtx): void {
  if (c.APP_PROFILE === "prod" && c.LINK_SIGNING_KEYS.includes(DEV_LINK_SIGNING_KEY)) {
    ctx.addIssue({ code: "custom", path: ["LINK_SIGNING_KEYS"], message: "the development default is refused in prod" });
  }
}

/** Prod logs are JSON for the log pipeline, unless traces go to a collector or it is acknowledged. */
function refineLogging(
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

// Payments: the local ledger (development and tests) or Stripe (docs/operations.md, "Payments").
// The worker moves the money; with Stripe, the web takes its webhooks, so both read the provider.
const paymentProvider = z.enum(["local", "stripe"]).default("local");

const payments = {
  PAYMENT_PROVIDER: paymentProvider,
  STRIPE_SECRET_KEY: z.string().min(1).optional(),
  // Tests point the SDK at a local wire fake; unset = Stripe's own API.
  STRIPE_API_BASE: z.url({ protocol: /^https?$/ }).optional(),
  STRIPE_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(120_000).default(30_000),
  // How long a Checkout Session stays open, stock held for the order meanwhile. Stripe requires a
  // session's expires_at 30 minutes to 24 hours ahead.
  CHECKOUT_EXPIRY_MINUTES: z.coerce.number().int().min(30).max(1_440).default(30),
  // How long an order waits for Stripe's webhook before asking Stripe itself how the payment went.
  PAYMENT_CHECK_INTERVAL_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(180_000),
  // A pending refund is checked this long after it was made, then at doubling intervals (the
  // webhook that says it settled usually comes first; this is for the one that never does).
  REFUND_CHECK_INTERVAL_MS: z.coerce.number().int().min(1_000).max(86_400_000).default(3_600_000),
  // Attempts of one payment API step before the order stops retrying it and is compensated.
  PAYMENT_RETRY_LIMIT: z.coerce.number().int().min(1).max(100).default(12),
  ALLOW_LOCAL_PAYMENTS: bool.optional(),
  // Prod: accept Stripe's test mode (a sk_test_/rk_test_ key) or another API root (STRIPE_API_BASE).
  ALLOW_TEST_PAYMENTS: bool.optional(),
};

const TEST_MODE_KEY = /^(sk|rk)_test_/;

function refinePayments(
  c: {
    APP_PROFILE: string;
    PAYMENT_PROVIDER: string;
    STRIPE_SECRET_KEY?: string | undefined;
    STRIPE_API_BASE?: string | undefined;
    ALLOW_LOCAL_PAYMENTS?: boolean | undefined;
    ALLOW_TEST_PAYMENTS?: boolean | undefined;
  },
  ctx: z.RefinementCtx,
): void {
  const prod = c.APP_PROFILE === "prod";
  if (prod && c.PAYMENT_PROVIDER === "local" && c.ALLOW_LOCAL_PAYMENTS !== true) {
    const message =
      "the local provider charges no real card (a ledger in our own database) and is refused in prod unless ALLOW_LOCAL_PAYMENTS=true";
    ctx.addIssue({ code: "custom", path: ["PAYMENT_PROVIDER"], message });
  }
  if (c.PAYMENT_PROVIDER !== "stripe") return;
  if (!c.STRIPE_SECRET_KEY) {
    ctx.addIssue({ code: "custom", path: ["STRIPE_SECRET_KEY"], message: "is required with PAYMENT_PROVIDER=stripe" });
  }
  if (prod && c.ALLOW_TEST_PAYMENTS !== true) {
    // Never the key itself in the message: only the prefix that gave it away.
    if (c.STRIPE_SECRET_KEY && TEST_MODE_KEY.test(c.STRIPE_SECRET_KEY)) {
      const message =
        "a test-mode key (sk_test_… or rk_test_…) charges no real card and is refused in prod unless ALLOW_TEST_PAYMENTS=true";
      ctx.addIssue({ code: "custom", path: ["STRIPE_SECRET_KEY"], message });
    }
    if (c.STRIPE_API_BASE) {
      const message =
        "another Stripe API root sends payments somewhere other than Stripe and is refused in prod unless ALLOW_TEST_PAYMENTS=true";
      ctx.addIssue({ code: "custom", path: ["STRIPE_API_BASE"], message });
    }
  }
}

// The web's side: with Stripe it takes the webhooks, which Stripe signs with the endpoint's secret;
// a webhook signed with any of these secrets is accepted.
const webPayments = {
  PAYMENT_PROVIDER: paymentProvider,
  // Comma-separated: the old and the new secret while Stripe rolls the endpoint's secret.
  STRIPE_WEBHOOK_SECRETS: z
    .string()
    .transform((v) =>
      v
        .split(",")
        .map((k) => k.trim())
        .filter((k) => k !== ""),
    )
    .pipe(z.array(z.string().regex(/^whsec_\S+$/, "each secret must start with whsec_ (the endpoint's signing secret)")))
    .optional(),
};

function refineWebhooks(
  c: { PAYMENT_PROVIDER: string; STRIPE_WEBHOOK_SECRETS?: string[] | undefined },
  ctx: z.RefinementCtx,
): void {
  if (c.PAYMENT_PROVIDER === "stripe" && (c.STRIPE_WEBHOOK_SECRETS ?? []).length === 0) {
    const message = "is required with PAYMENT_PROVIDER=stripe: webhooks are how payments reach the orders";
    ctx.addIssue({ code: "custom", path: ["STRIPE_WEBHOOK_SECRETS"], message });
  }
}

export const webConfigSchema = z
  .object({
    ...common,
    ...links,
    ...webPayments,
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
    // SSE hardening (web/progress/sse-streams.ts): streams end after about this long and the browser reconnects.
    SSE_MAX_DURATION_MS: z.coerce
      .number()
      .int()
      .min(100)
      .default(15 * 60_000),
    // Bytes allowed to wait for a client that does not read; past it the stream is closed (it replays on reconnect).
    SSE_MAX_BUFFER_BYTES: z.coerce
      .number()
      .int()
      .min(1)
      .default(256 * 1024),
    // The `retry:` hint sent when the server ends a stream early (maximum duration, shutdown).
    SSE_RETRY_MS: z.coerce.number().int().min(0).default(2_000),
    SSE_MAX_PER_SESSION: z.coerce.number().int().min(1).default(6),
    // A stream that heard nothing this long reads its order's row and sends what it missed (0: never).
    SSE_QUIET_CHECK_MS: z.coerce.number().int().min(0).default(5_000),
    // How often the operators' live feed reads which orders moved, to send those whose messages it missed (0: never).
    OPS_FEED_CHECK_MS: z.coerce.number().int().min(0).default(5_000),
    SSE_MAX_PER_IP: z.coerce.number().int().min(1).default(200),
    // Bench only: one Valkey subscriber connection per SSE stream, to measure the shared one against it.
    SSE_NAIVE_SUBSCRIBER: bool.default(false),
    READY_CACHE_MS: z.coerce.number().int().min(0).default(2_000),
    APPROVAL_THRESHOLD_CENTS: z.coerce.number().int().min(1).default(50_000),
    ORDER_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(30),
    LOGIN_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(5),
    // "Email me my orders": requests per session per minute (10x that per client address), and
    // messages per email address per hour (past it, the same answer but nothing is sent).
    ORDER_LOOKUP_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(5),
    ORDER_LOOKUP_PER_ADDRESS_PER_HOUR: z.coerce.number().int().min(1).default(3),
    WEB_METRICS_PORT: port.default(9464),
    REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).default(15_000),
    WEB_AUTO_MIGRATE: bool.default(false),
    ALLOW_WEB_AUTO_MIGRATE: bool.optional(),
  })
  .superRefine(refineLogging)
  .superRefine(refineLinks)
  .superRefine(refineWebhooks)
  .superRefine((c, ctx) => {
    if (c.SSE_NAIVE_SUBSCRIBER && c.VALKEY_CLUSTER_NODES) {
      const message = "is a single-server bench switch: it cannot be combined with VALKEY_CLUSTER_NODES";
      ctx.addIssue({ code: "custom", path: ["SSE_NAIVE_SUBSCRIBER"], message });
    }
    if (c.APP_PROFILE === "prod" && c.WEB_AUTO_MIGRATE && c.ALLOW_WEB_AUTO_MIGRATE !== true) {
      const message =
        "migrating from the web is refused in prod (run `npm run migrate` as its own step) unless ALLOW_WEB_AUTO_MIGRATE=true";
      ctx.addIssue({ code: "custom", path: ["WEB_AUTO_MIGRATE"], message });
    }
    if (c.APP_PROFILE === "prod" && c.SESSION_SECRET === DEV_SESSION_SECRET) {
      ctx.addIssue({ code: "custom", path: ["SESSION_SECRET"], message: "the development default is refused in prod" });
    }
  });
export type WebConfig = z.infer<typeof webConfigSchema>;

// Content generation: which model provider, how fast we may call it, what it costs (see README).
const llm = {
  LLM_PROVIDER: z.enum(["openai", "anthropic", "offline"]).default("offline"),
  LLM_MODEL: z.string().min(1).optional(),
  // OpenAI: any OpenAI-compatible server (Ollama, vLLM), ending in /v1. Anthropic: the API root.
  LLM_BASE_URL: z.url().optional(),
  OPENAI_API_KEY: z.string().min(1).optional(),
  ANTHROPIC_API_KEY: z.string().min(1).optional(),
  LLM_TIMEOUT_MS: z.coerce.number().int().min(1_000).default(120_000),
  LLM_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(6),
  LLM_REQUESTS_PER_MINUTE: z.coerce.number().positive().default(50),
  LLM_TOKENS_PER_MINUTE: z.coerce.number().positive().default(40_000),
  // How many seconds of allowance a quiet bucket saves up: the largest burst sent at once.
  LLM_BURST_SECONDS: z.coerce.number().positive().max(60).default(10),
  // Estimated price in US cents per 1,000 tokens; unset = the built-in table for known models.
  LLM_PRICE_INPUT_CENTS_PER_1K: z.coerce.number().min(0).optional(),
  LLM_PRICE_OUTPUT_CENTS_PER_1K: z.coerce.number().min(0).optional(),
  ALLOW_OFFLINE_LLM: bool.optional(),
};

function refineLlmConfig(
  c: {
    APP_PROFILE: string;
    LLM_PROVIDER: string;
    LLM_BASE_URL?: string | undefined;
    ALLOW_OFFLINE_LLM?: boolean | undefined;
  } & Record<string, unknown>,
  ctx: z.RefinementCtx,
): void {
  if (c.APP_PROFILE === "prod" && c.LLM_PROVIDER === "offline" && c.ALLOW_OFFLINE_LLM !== true) {
    const message = "the offline provider writes placeholder text and is refused in prod unless ALLOW_OFFLINE_LLM=true";
    ctx.addIssue({ code: "custom", path: ["LLM_PROVIDER"], message });
  }
  // An OpenAI-compatible server of our own (LLM_BASE_URL) may need no key; the hosted APIs do.
  if (c.LLM_PROVIDER === "openai" && !c.OPENAI_API_KEY && !c.LLM_BASE_URL) {
    ctx.addIssue({ code: "custom", path: ["OPENAI_API_KEY"], message: "is required with LLM_PROVIDER=openai" });
  }
  if (c.LLM_PROVIDER === "anthropic" && !c.ANTHROPIC_API_KEY) {
    ctx.addIssue({ code: "custom", path: ["ANTHROPIC_API_KEY"], message: "is required with LLM_PROVIDER=anthropic" });
  }
}

// Restate's request identity (deploy/README.md, "Request identity"): restate-server signs every
// request with its private key; the worker serves only requests signed by one of these public keys.
const RESTATE_PUBLIC_KEY = /^publickeyv1_[1-9A-HJ-NP-Za-km-z]{43,44}$/;
const identity = {
  // Comma-separated (rotation: old and new while Restate switches keys); unset = no check, refused in prod.
  RESTATE_IDENTITY_KEYS: z
    .string()
    .transform((v) =>
      v
        .split(",")
        .map((k) => k.trim())
        .filter((k) => k !== ""),
    )
    .pipe(z.array(z.string().regex(RESTATE_PUBLIC_KEY, "each key must look like publickeyv1_<base58>")))
    .optional(),
};

function refineIdentity(c: { APP_PROFILE: string; RESTATE_IDENTITY_KEYS?: string[] | undefined }, ctx: z.RefinementCtx): void {
  if (c.APP_PROFILE === "prod" && (c.RESTATE_IDENTITY_KEYS ?? []).length === 0) {
    const message =
      "is required in prod: without it anyone who reaches the worker's port can run its handlers (send mail, refund, approve)";
    ctx.addIssue({ code: "custom", path: ["RESTATE_IDENTITY_KEYS"], message });
  }
}

export const workerConfigSchema = z
  .object({
    ...common,
    ...llm,
    ...payments,
    ...links,
    ...identity,
    // Loopback unless asked: the images and manifests set 0.0.0.0 where Restate reaches it over the network.
    WORKER_HOST: z.string().min(1).default("127.0.0.1"),
    WORKER_PORT: port.default(9080),
    WORKER_PUBLIC_URL: z.url().default("http://127.0.0.1:9080"),
    WORKER_SELF_REGISTER: bool.optional(),
    WORKER_REGISTER_FORCE: bool.optional(),
    SMTP_HOST: z.string().min(1).default("127.0.0.1"),
    SMTP_PORT: port.default(1025),
    // Default: none in dev (the local catcher), starttls in prod.
    SMTP_TLS: z.enum(["none", "starttls", "implicit"]).optional(),
    SMTP_USER: z.string().optional(),
    SMTP_PASSWORD: z.string().optional(),
    SMTP_POOL_SIZE: z.coerce.number().int().min(1).max(50).default(5),
    ALLOW_PLAINTEXT_SMTP: bool.optional(),
    // SMTP 4xx and connection errors are retried from this interval up to the max, for at most EMAIL_GIVE_UP_AFTER_MS.
    EMAIL_RETRY_INITIAL_MS: z.coerce.number().int().min(10).default(1_000),
    EMAIL_RETRY_MAX_MS: z.coerce.number().int().min(10).default(300_000),
    EMAIL_GIVE_UP_AFTER_MS: z.coerce.number().int().min(1_000).default(86_400_000),
    CAMPAIGN_SENDS_PER_SECOND: z.coerce.number().positive().max(1_000).default(5),
    MAIL_FROM: z.string().min(3).default("Quayside <orders@quayside.test>"),
    PUBLIC_WEB_URL: z.url().default("http://127.0.0.1:3000"),
    // Orders at or above this total wait for an operator; undecided after the timeout, they are rejected.
    APPROVAL_THRESHOLD_CENTS: z.coerce.number().int().min(1).default(50_000),
    APPROVAL_TIMEOUT_MS: z.coerce
      .number()
      .int()
      .min(100)
      .default(24 * 3_600_000),
    SHIPPING_DELAY_MS: z.coerce.number().int().min(0).default(10_000),
    PAYMENT_LATENCY_MS: z.coerce.number().int().min(0).default(0),
    PAYMENT_FAULT_RATE: z.coerce.number().min(0).max(1).default(0),
    WORKER_METRICS_PORT: port.default(9465),
    ALLOW_REGISTER_FORCE: bool.optional(),
  })
  .superRefine(refineLogging)
  .superRefine(refineLinks)
  .superRefine(refineIdentity)
  .superRefine((c, ctx) => {
    const selfRegisters = c.WORKER_SELF_REGISTER ?? c.APP_PROFILE === "dev";
    if (c.APP_PROFILE === "prod" && selfRegisters && c.WORKER_REGISTER_FORCE === true && c.ALLOW_REGISTER_FORCE !== true) {
      const message =
        "forced self-registration is refused in prod (it can break in-flight invocations) unless ALLOW_REGISTER_FORCE=true";
      ctx.addIssue({ code: "custom", path: ["WORKER_REGISTER_FORCE"], message });
    }
    if (c.APP_PROFILE === "prod" && c.SMTP_TLS === "none" && c.ALLOW_PLAINTEXT_SMTP !== true) {
      const message = "plaintext SMTP is refused in prod: use starttls or implicit, or set ALLOW_PLAINTEXT_SMTP=true";
      ctx.addIssue({ code: "custom", path: ["SMTP_TLS"], message });
    }
  })
  .superRefine(refineLlmConfig)
  .superRefine(refinePayments)
  .transform((c) => ({
    ...c,
    SMTP_TLS: c.SMTP_TLS ?? (c.APP_PROFILE === "prod" ? "starttls" : "none"),
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

/** `npm run operator`: the database, and optionally the new password (otherwise read from stdin). */
export const operatorCommandConfigSchema = migrateConfigSchema.extend({
  OPERATOR_PASSWORD: z.string().optional(),
});

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
