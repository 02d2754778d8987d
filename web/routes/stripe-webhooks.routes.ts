/**
 * `POST /webhooks/stripe`: Stripe tells us a payment moved. The event is believed only when its
 * `Stripe-Signature` matches the raw body under one of our endpoint secrets (several while a
 * secret is rolled) and is recent; otherwise 400 and nothing changes. A believed event about an
 * order's payment page is handed to that order (orders-client `paymentEvent`, keyed by the event
 * id, so a duplicate is one effect) and answered 200 once Restate has accepted it; if Restate does
 * not, 503, and Stripe delivers it again later. The order then asks Stripe where its payment
 * stands, so an event that is late, out of order or never comes changes only how fast it moves.
 * Events about a payment after the sale (a refund's outcome, a refund or a dispute made in Stripe's
 * dashboard) go the same way to the order's OrderRefund object (`reconcile`, one-way, keyed by the
 * event id), which reads the payment's refunds and disputes from Stripe. The order is found by the
 * object's `metadata.order_id` when we made it, else by its PaymentIntent (the order's
 * `payment_ref`). Events this shop does not act on, or about payments that are not an order's, are
 * answered 200 and ignored. Only the event's id and type are
 * logged: its body carries the customer's personal data.
 *
 * The route is exempt from the browser's session and CSRF checks (Stripe has neither; its
 * signature is the guard) and from nothing else: the body has a size limit and the rate limit
 * applies.
 */
import Router from "@koa/router";
import Stripe from "stripe";
import { orderIdSchema } from "../../shared/order.schema.ts";
import type { Logger } from "../../shared/logger.ts";
import type { PaymentEventInput } from "../../worker/order-controls.handlers.ts";
import { RestateUnavailableError } from "../adapters/ingress.ts";
import type { OrderRefundsClient } from "../adapters/order-refunds-client.ts";
import type { OrdersClient } from "../adapters/orders-client.ts";
import type { OrdersReadRepo } from "../adapters/orders-read.repo.ts";
import type { RateLimiter } from "../adapters/rate-limiter.ts";
import type { AppState } from "../app-state.ts";

export const STRIPE_WEBHOOK_PATH = "/webhooks/stripe";

/** Stripe's events stay well under this; a body above it is refused unread. */
const BODY_LIMIT_BYTES = 256 * 1024;
/** Seconds a signature stays valid: Stripe's own default tolerance against replays. */
const TOLERANCE_SECONDS = 300;

export interface StripeWebhookDeps {
  secrets: readonly string[];
  orders: Pick<OrdersClient, "paymentEvent">;
  refunds: Pick<OrderRefundsClient, "reconcile">;
  orderStore: Pick<OrdersReadRepo, "orderIdForPayment">;
  limiter: RateLimiter;
  logger: Logger;
  eventsPerMinute: number;
}

const SIGNALS: Record<string, PaymentEventInput["signal"]> = {
  "checkout.session.completed": "completed",
  "checkout.session.async_payment_succeeded": "settled",
  "checkout.session.async_payment_failed": "settled",
  "checkout.session.expired": "expired",
  // A card declined or 3-D Secure failed on the page: the page stays open, the order page says why.
  "payment_intent.payment_failed": "declined",
};

/** After the sale: what the OrderRefund object looks at (the payment's refunds and disputes). */
const AFTER_SALE = new Set([
  "charge.refunded",
  "refund.created",
  "refund.updated",
  "refund.failed",
  "charge.dispute.created",
  "charge.dispute.updated",
  "charge.dispute.closed",
]);

/** The order id we put on the object (refunds we made, charges of our PaymentIntents), or its PaymentIntent. */
export function afterSaleTarget(event: Stripe.Event): { orderId: string | null; paymentIntent: string | null } | null {
  if (!AFTER_SALE.has(event.type)) return null;
  const object = event.data.object as { metadata?: Record<string, string> | null; payment_intent?: unknown };
  const orderId = orderIdSchema.safeParse(object.metadata?.order_id);
  const pi = object.payment_intent;
  const paymentIntent = typeof pi === "string" ? pi : pi && typeof pi === "object" && "id" in pi ? String(pi.id) : null;
  return { orderId: orderId.success ? orderId.data : null, paymentIntent };
}

/** The order an event is about, and which of its waits it wakes; null for events we do not act on. */
export function orderSignalOf(event: Stripe.Event): { orderId: string; input: PaymentEventInput } | null {
  const signal = SIGNALS[event.type];
  if (!signal) return null;
  // A Checkout Session names the order as its client reference; our PaymentIntents in their metadata.
  const object = event.data.object as { client_reference_id?: string | null; metadata?: Record<string, string> | null };
  const orderId = orderIdSchema.safeParse(object.client_reference_id ?? object.metadata?.order_id);
  // A session this shop did not open (another integration on the same account): not ours to act on.
  if (!orderId.success) return null;
  return { orderId: orderId.data, input: { signal, eventId: event.id } };
}

/** The raw body, as Stripe signed it, up to the limit. */
async function rawBody(req: AsyncIterable<Buffer>, declared: number): Promise<Buffer | null> {
  if (declared > BODY_LIMIT_BYTES) return null;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > BODY_LIMIT_BYTES) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function verified(body: Buffer, signature: string, secrets: readonly string[]): Stripe.Event | null {
  for (const secret of secrets) {
    try {
      return Stripe.webhooks.constructEvent(body, signature, secret, TOLERANCE_SECONDS);
    } catch {
      // Not this secret (or not valid at all): try the next one.
    }
  }
  return null;
}

export function stripeWebhookRoutes(deps: StripeWebhookDeps) {
  const router = new Router<AppState>();
  router.post(STRIPE_WEBHOOK_PATH, async (ctx) => {
    // Per sending address (there is no session here): Stripe delivers a refused event again later.
    const limit = await deps.limiter.hit(`stripe-webhooks:ip:${ctx.ip}`, deps.eventsPerMinute, 60);
    if (!limit.allowed) {
      ctx.status = 429;
      ctx.set("Retry-After", String(limit.retryAfterSeconds));
      ctx.body = { error: "Too many webhook deliveries from this address" };
      return;
    }
    const body = await rawBody(ctx.req as AsyncIterable<Buffer>, Number(ctx.get("content-length") || 0));
    if (!body) {
      ctx.status = 413;
      ctx.body = { error: `The event is larger than ${BODY_LIMIT_BYTES} bytes` };
      return;
    }
    const signature = ctx.get("stripe-signature");
    const event = signature ? verified(body, signature, deps.secrets) : null;
    if (!event) {
      ctx.status = 400;
      ctx.body = { error: "The Stripe-Signature header is missing, does not match the body, or is too old" };
      deps.logger.warn({ signed: Boolean(signature) }, "webhook refused: bad signature");
      return;
    }
    const target = orderSignalOf(event);
    const afterSale = target ? null : afterSaleTarget(event);
    const afterSaleOrder = afterSale
      ? (afterSale.orderId ?? (afterSale.paymentIntent ? await deps.orderStore.orderIdForPayment(afterSale.paymentIntent) : null))
      : null;
    if (target || afterSaleOrder) {
      try {
        if (target) await deps.orders.paymentEvent(target.orderId, target.input);
        else if (afterSaleOrder) await deps.refunds.reconcile(afterSaleOrder, event.id);
      } catch (err) {
        if (!(err instanceof RestateUnavailableError)) throw err;
        deps.logger.warn({ err, eventId: event.id, type: event.type }, "webhook not handed over: Restate did not accept it");
        ctx.status = 503;
        ctx.set("Retry-After", "5");
        ctx.body = { error: "The order system did not accept the event; deliver it again later" };
        return;
      }
    }
    const orderId = target?.orderId ?? afterSaleOrder ?? undefined;
    deps.logger.info(
      { eventId: event.id, type: event.type, orderId },
      orderId ? "webhook handed to the order" : "webhook ignored",
    );
    ctx.status = 200;
    ctx.body = { received: true };
  });

  return router;
}
