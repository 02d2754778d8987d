/** Payment settings: the pieces the worker's and the web's schemas spread, with their checks. */
import { z } from "zod";
import { bool } from "./common-config.schema.ts";

// Payments: the local ledger (development and tests) or Stripe (docs/operations.md, "Payments").
// The worker moves the money; with Stripe, the web takes its webhooks, so both read the provider.
const paymentProvider = z.enum(["local", "stripe"]).default("local");

export const payments = {
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

export function refinePayments(
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
export const webPayments = {
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

export function refineWebhooks(
  c: { PAYMENT_PROVIDER: string; STRIPE_WEBHOOK_SECRETS?: string[] | undefined },
  ctx: z.RefinementCtx,
): void {
  if (c.PAYMENT_PROVIDER === "stripe" && (c.STRIPE_WEBHOOK_SECRETS ?? []).length === 0) {
    const message = "is required with PAYMENT_PROVIDER=stripe: webhooks are how payments reach the orders";
    ctx.addIssue({ code: "custom", path: ["STRIPE_WEBHOOK_SECRETS"], message });
  }
}
