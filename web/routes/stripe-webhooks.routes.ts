/**
 * `POST /webhooks/stripe`: Stripe tells us a payment moved. The event is believed only when its
 * `Stripe-Signature` matches the raw body under one of our endpoint secrets (several while a
 * secret is rolled) and is recent; otherwise 400 and nothing changes. A believed event about an
 * order's payment page is handed to that order (orders-client `paymentEvent`, keyed by the event
 * id, so a duplicate is one effect) and answered 200 once Restate has accepted it; if Restate does
 * not, 503, and Stripe delivers it again later. The order then asks Stripe where its payment
 * stands, so an event that is late, out of order or never comes changes only how fast it moves.
 * Events this shop does not act on are answered 200 and ignored. Only the event's id and type are
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
import type { OrdersClient } from "../adapters/orders-client.ts";
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
  limiter: RateLimiter;
  logger: Logger;
  eventsPerMinute: number;
}

const SIGNALS: Record<string, PaymentEventInput["signal"]> = {
  "checkout.session.completed": "completed",
  "checkout.session.async_payment_succeeded": "settled",
  "checkout.session.async_payment_failed": "settled",
  "checkout.session.expired": "expired",
};

/** The order an event is about, and which of its waits it wakes; null for events we do not act on. */
export function orderSignalOf(event: Stripe.Event): { orderId: string; input: PaymentEventInput } | null {
  const signal = SIGNALS[event.type];
  if (!signal) return null;
  const session = event.data.object as Stripe.Checkout.Session;
  const orderId = orderIdSchema.safeParse(session.client_reference_id ?? session.metadata?.order_id);
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
    if (target) {
      try {
        await deps.orders.paymentEvent(target.orderId, target.input);
      } catch (err) {
        if (!(err instanceof RestateUnavailableError)) throw err;
        deps.logger.warn({ err, eventId: event.id, type: event.type }, "webhook not handed over: Restate did not accept it");
        ctx.status = 503;
        ctx.set("Retry-After", "5");
        ctx.body = { error: "The order system did not accept the event; deliver it again later" };
        return;
      }
    }
    deps.logger.info(
      { eventId: event.id, type: event.type, orderId: target?.orderId },
      target ? "webhook handed to the order" : "webhook ignored",
    );
    ctx.status = 200;
    ctx.body = { received: true };
  });

  return router;
}
