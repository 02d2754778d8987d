/** The worker's environment: one zod schema, parsed once at start-up (shared/config.ts's loader). */
import { z } from "zod";
import { bool, common, links, port, refineLinks, refineLogging } from "./common-config.schema.ts";
import { payments, refinePayments } from "./payment-config.schema.ts";

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
