/**
 * Stripe through the official SDK. The order workflow uses `checkout`: the customer pays on a
 * Checkout Session's hosted page (manual capture for orders that need approval), and the order
 * reads where the payment stands from the session and its PaymentIntent; capture, cancel and refund
 * act on that PaymentIntent. `charge`/`authorize` (a PaymentIntent created and confirmed server-side
 * with a test token) remain for the provider contract the local provider shares; the workflow does
 * not call them with Stripe. Each request carries the order's key as Stripe's `Idempotency-Key`, so
 * a step retried after a lost answer gets the first outcome back (Stripe replays it).
 *
 * The SDK's own retries are off: Restate retries the step (429 after its Retry-After; 409, 5xx,
 * timeouts and dropped connections with the step's backoff). Declines and requests Stripe refuses
 * as invalid are `PermanentError`s, which the order saga turns into a rejection.
 */
import * as restate from "@restatedev/restate-sdk";
import Stripe from "stripe";
import { PermanentError } from "../errors.ts";
import type {
  AfterSale,
  AuthorizationRequest,
  Charge,
  ChargeRequest,
  CheckoutRequest,
  CheckoutSession,
  CheckoutState,
  Dispute,
  HostedCheckout,
  PaymentProvider,
  Refund,
  RefundRequest,
} from "./payment-provider.ts";
import { retryAfterMs } from "./retry-after.ts";

export interface StripeSettings {
  secretKey: string;
  /** Another API root (a wire fake in tests); unset = api.stripe.com. */
  apiBase?: string | undefined;
  timeoutMs: number;
  /**
   * Told, as it happens, that Stripe refused our key (401) or a request the key has no permission
   * for (403): the process wires it to what operators watch. The step is still retried.
   */
  onAuthFailure?: ((failure: StripeAuthFailure) => void) | undefined;
}

export interface StripeAuthFailure {
  status: 401 | 403;
  /** What we were asking Stripe for ("payment page", "capture", …). */
  operation: string;
  message: string;
}

/** 401 (a wrong or revoked key) or 403 (a restricted key without the permission), else null. */
function authStatusOf(err: InstanceType<typeof Stripe.errors.StripeError>): 401 | 403 | null {
  if (err instanceof Stripe.errors.StripeAuthenticationError || err.statusCode === 401) return 401;
  if (err instanceof Stripe.errors.StripePermissionError || err.statusCode === 403) return 403;
  return null;
}

/**
 * Throws what the step should end with: permanent for a decline or a refused request, else retried.
 * A 401/403 is reported to `onAuthFailure` first.
 */
export function mapStripeError(err: unknown, what: string, onAuthFailure?: StripeSettings["onAuthFailure"]): never {
  if (!(err instanceof Stripe.errors.StripeError)) throw err;
  const status = err.statusCode ?? 0;
  const auth = authStatusOf(err);
  if (auth !== null) {
    try {
      onAuthFailure?.({ status: auth, operation: what, message: err.message });
    } catch {
      // A report that fails must not change how the step ends: the error thrown below does.
    }
  }
  if (err instanceof Stripe.errors.StripeCardError) {
    // Card errors carry a message Stripe writes for the customer ("Your card was declined.").
    const message = (err.message || "Your card was declined").replace(/\.$/, "");
    throw new PermanentError(err.code ?? "card_declined", message);
  }
  if (err instanceof Stripe.errors.StripeRateLimitError) {
    const wait = retryAfterMs(new Headers(headerEntries(err.headers)));
    throw new restate.RetryableError(`Stripe is rate limiting us (HTTP ${status}) during ${what}`, {
      retryAfter: Math.min(wait ?? 2_000, 5 * 60_000),
      cause: err,
    });
  }
  // Same key with other parameters: no retry changes that (our bug, not the customer's).
  if (err instanceof Stripe.errors.StripeIdempotencyError)
    throw new PermanentError("idempotency_error", `Stripe refused the ${what}: the idempotency key was used for another request`);
  // 409: another request with the same key is still running at Stripe; asking again later gets its outcome.
  if (status === 400 || status === 404) {
    throw new PermanentError(err.code ?? "invalid_request", `Stripe refused the ${what} (${err.code ?? `HTTP ${status}`})`);
  }
  // 401/403 are our configuration, not the customer's card: retried within the step's budget (a worker
  // restarted meanwhile with a good key lets the order go on), and reported above so operators learn of it at once.
  throw new Error(`Stripe ${what} failed (${status ? `HTTP ${status}` : err.type}): ${err.message}`, { cause: err });
}

function headerEntries(headers: unknown): Array<[string, string]> {
  if (!headers || typeof headers !== "object") return [];
  return Object.entries(headers).flatMap(([k, v]) => (typeof v === "string" ? [[k, v] as [string, string]] : []));
}

export function createStripePaymentProvider(s: StripeSettings): PaymentProvider {
  const base = s.apiBase ? new URL(s.apiBase) : null;
  const fail = (err: unknown, what: string): never => mapStripeError(err, what, s.onAuthFailure);
  const stripe = new Stripe(s.secretKey, {
    maxNetworkRetries: 0,
    timeout: s.timeoutMs,
    telemetry: false,
    appInfo: { name: "quayside" },
    ...(base
      ? {
          host: base.hostname,
          port: base.port || (base.protocol === "http:" ? "80" : "443"),
          protocol: base.protocol === "http:" ? "http" : "https",
        }
      : {}),
  });

  function chargeOf(pi: Stripe.PaymentIntent, amount: number): Charge {
    return { providerRef: pi.id, amountCents: amount, currency: pi.currency.toUpperCase() };
  }

  async function open(req: ChargeRequest, captureMethod: "automatic" | "manual"): Promise<Charge> {
    const what = captureMethod === "manual" ? "authorisation" : "charge";
    let pi: Stripe.PaymentIntent;
    try {
      pi = await stripe.paymentIntents.create(
        {
          amount: req.amountCents,
          currency: req.currency.toLowerCase(),
          payment_method: req.paymentMethod,
          // Confirmed server-side with the customer gone: no payment method that needs a redirect.
          automatic_payment_methods: { enabled: true, allow_redirects: "never" },
          confirm: true,
          capture_method: captureMethod,
          metadata: { order_id: req.orderId },
        },
        { idempotencyKey: req.idempotencyKey },
      );
    } catch (err) {
      return fail(err, what);
    }
    const expected = captureMethod === "manual" ? "requires_capture" : "succeeded";
    // requires_action (3-D Secure) cannot be completed without the customer: the payment did not happen.
    if (pi.status !== expected)
      throw new PermanentError(`payment_intent_${pi.status}`, `The card needs a step we cannot take here (${pi.status})`);
    return chargeOf(pi, pi.amount);
  }

  async function capture(req: AuthorizationRequest): Promise<Charge> {
    try {
      const pi = await stripe.paymentIntents.capture(req.chargeRef, {}, { idempotencyKey: req.idempotencyKey });
      return chargeOf(pi, pi.amount_received || pi.amount);
    } catch (err) {
      // Captured already (by an earlier attempt whose key has expired): that is the outcome we wanted.
      const pi = err instanceof Stripe.errors.StripeError ? err.payment_intent : undefined;
      if (pi?.status === "succeeded") return chargeOf(pi, pi.amount_received || pi.amount);
      return fail(err, "capture");
    }
  }

  async function cancel(req: AuthorizationRequest): Promise<void> {
    try {
      await stripe.paymentIntents.cancel(req.chargeRef, {}, { idempotencyKey: req.idempotencyKey });
    } catch (err) {
      // An authorisation that is gone already (cancelled before, or expired) holds nothing: done.
      const pi = err instanceof Stripe.errors.StripeError ? err.payment_intent : undefined;
      if (pi?.status === "canceled") return;
      fail(err, "cancellation");
    }
  }

  async function refund(req: RefundRequest): Promise<Refund> {
    try {
      const r = await stripe.refunds.create(
        { payment_intent: req.chargeRef, amount: req.amountCents, metadata: { order_id: req.orderId } },
        { idempotencyKey: req.idempotencyKey },
      );
      return refundOf(r);
    } catch (err) {
      return fail(err, "refund");
    }
  }

  function refundOf(r: Stripe.Refund): Refund {
    // requires_action: the customer must give bank details (some methods); until then it is pending.
    const state =
      r.status === "succeeded" ? "succeeded" : r.status === "failed" || r.status === "canceled" ? "failed" : "pending";
    return { providerRef: r.id, amountCents: r.amount, state, failureReason: r.failure_reason ?? undefined };
  }

  function disputeOf(d: Stripe.Dispute): Dispute {
    // warning_closed: an inquiry that ended without a chargeback, as good as won.
    const state = d.status === "lost" ? "lost" : d.status === "won" || d.status === "warning_closed" ? "won" : "open";
    return { providerRef: d.id, amountCents: d.amount, reason: d.reason.replaceAll("_", " "), state };
  }

  async function afterSale(paymentRef: string): Promise<AfterSale> {
    try {
      // One page each: an order has a refund or two and a dispute at most, far below the limit.
      const [refunds, disputes] = await Promise.all([
        stripe.refunds.list({ payment_intent: paymentRef, limit: 100 }),
        stripe.disputes.list({ payment_intent: paymentRef, limit: 100 }),
      ]);
      return { refunds: refunds.data.map(refundOf), disputes: disputes.data.map(disputeOf) };
    } catch (err) {
      return fail(err, "refund and dispute check");
    }
  }

  async function openCheckout(req: CheckoutRequest): Promise<CheckoutSession> {
    try {
      const session = await stripe.checkout.sessions.create(
        {
          mode: "payment",
          client_reference_id: req.orderId,
          customer_email: req.email,
          line_items: req.lines.map((l) => ({
            quantity: l.quantity,
            price_data: { currency: req.currency.toLowerCase(), unit_amount: l.unitPriceCents, product_data: { name: l.name } },
          })),
          payment_intent_data: { capture_method: req.capture, metadata: { order_id: req.orderId } },
          metadata: { order_id: req.orderId },
          success_url: req.successUrl,
          cancel_url: req.cancelUrl,
          expires_at: Math.floor(req.expiresAt / 1000),
        },
        { idempotencyKey: req.idempotencyKey },
      );
      if (!session.url) throw new PermanentError("checkout_without_url", "Stripe returned a payment page without an address");
      return { sessionId: session.id, url: session.url, expiresAt: session.expires_at * 1000 };
    } catch (err) {
      if (err instanceof PermanentError) throw err;
      return fail(err, "payment page");
    }
  }

  /** Where a session's payment stands, from the session and its PaymentIntent (not from any webhook). */
  function stateOf(session: Stripe.Checkout.Session): CheckoutState {
    if (session.status === "expired") return { state: "expired" };
    const pi = session.payment_intent;
    if (session.status !== "complete") {
      // A declined card or a failed 3-D Secure leaves the page open for another try: say why.
      const why = pi && typeof pi !== "string" ? pi.last_payment_error?.message?.replace(/\.$/, "") : undefined;
      return { state: "open", lastError: why };
    }
    if (!pi || typeof pi === "string") return { state: "processing", paymentRef: pi ?? "" };
    if (pi.status === "succeeded") return { state: "paid", charge: chargeOf(pi, pi.amount_received || pi.amount) };
    if (pi.status === "requires_capture") return { state: "authorized", charge: chargeOf(pi, pi.amount_capturable || pi.amount) };
    if (pi.status === "processing") return { state: "processing", paymentRef: pi.id };
    const why = pi.last_payment_error?.message?.replace(/\.$/, "");
    return { state: "failed", reason: why ?? `the payment ended ${pi.status.replaceAll("_", " ")}` };
  }

  async function check(sessionId: string): Promise<CheckoutState> {
    try {
      return stateOf(await stripe.checkout.sessions.retrieve(sessionId, { expand: ["payment_intent"] }));
    } catch (err) {
      return fail(err, "payment check");
    }
  }

  async function close(sessionId: string, idempotencyKey: string): Promise<CheckoutState> {
    try {
      await stripe.checkout.sessions.expire(sessionId, {}, { idempotencyKey });
    } catch (err) {
      // 400: the session is not open any more (paid, or expired already): where it stands is the answer.
      if (!(err instanceof Stripe.errors.StripeInvalidRequestError && err.statusCode === 400)) fail(err, "payment page close");
    }
    return check(sessionId);
  }

  const checkout: HostedCheckout = { open: openCheckout, check, close };

  return {
    name: "stripe",
    checkout,
    charge: (req) => open(req, "automatic"),
    authorize: (req) => open(req, "manual"),
    capture,
    cancel,
    refund,
    afterSale,
  };
}
