/**
 * Scenario 1b: orders paid on the hosted payment page, as `npm run dev` takes them (the local
 * Stripe: its API, its page, its signed webhooks), the bench paying automatically the way a shopper
 * does: the form POST, the order's stream until it waits for its payment, the test card submitted on
 * the page, then the stream until the order ends. The time on the page (here one form submit: a
 * person takes far longer) is printed apart from the rest, so that the order's own latency can be
 * read without it; and what one order costs in Stripe calls and webhook deliveries, a count that
 * the clock does not change.
 */
import { v7 as uuidv7 } from "uuid";
import type { FakeStripeServer } from "../stack/local-stripe/server.ts";
import { CARD_SUCCEEDS } from "../stack/local-stripe/wire.ts";
import { newSession, request, sseUntil, type WebSession } from "./http.ts";
import type { Targets } from "./orders.scenario.ts";
import { closedLoop, summarize, type LoadResult, type Summary } from "./stats.ts";

export interface CheckoutResult {
  load: LoadResult;
  /** Form POST → the order's "waiting for payment" event (the page is open). */
  toPage: Summary;
  /** The shopper's submit on the page → its answer. */
  onPage: Summary;
  /** The page's answer → the order's terminal event (the webhook, the order's check, the rest of the order). */
  afterPayment: Summary;
  /** Per completed order: calls to Stripe's API, and webhook deliveries to the web. */
  stripeCallsPerOrder: number;
  webhooksPerOrder: number;
}

async function placeHosted(t: Targets, s: WebSession, sku: string): Promise<string> {
  const orderId = uuidv7();
  const body = new URLSearchParams({ _csrf: s.csrf, orderId, email: "bench@example.com", [`qty[${sku}]`]: "1" }).toString();
  const res = await request(`${t.webUrl}/orders`, {
    method: "POST",
    headers: { cookie: s.cookie, "content-type": "application/x-www-form-urlencoded" },
    body,
  });
  if (res.status !== 303) throw new Error(`POST /orders answered ${res.status}: ${res.body.slice(0, 200)}`);
  return orderId;
}

export async function checkoutOrders(
  t: Targets,
  stripe: FakeStripeServer,
  concurrency: number,
  durationMs: number,
): Promise<CheckoutResult> {
  const vus = await Promise.all(Array.from({ length: concurrency }, () => newSession(t.webUrl)));
  const toPage: number[] = [];
  const onPage: number[] = [];
  const afterPayment: number[] = [];
  const callsBefore = stripe.requests.length;
  const webhooksBefore = stripe.deliveries.length;
  let n = 0;
  const load = await closedLoop(concurrency, durationMs, async (vu) => {
    const s = vus[vu]!;
    const started = performance.now();
    const orderId = await placeHosted(t, s, t.skus[n++ % t.skus.length]!);
    const stream = `${t.webUrl}/orders/${orderId}/events`;
    const waiting = await sseUntil(stream, { cookie: s.cookie }, (e) => e.data.includes('data-step="awaiting_payment"'));
    if (!waiting) throw new Error(`the stream of ${orderId} ended before its payment page opened`);
    const opened = performance.now();
    const session = stripe.ledgerOf(orderId).checkoutSessions[0];
    if (!session) throw new Error(`no payment page for ${orderId}`);
    const paid = await request(session.url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ card: CARD_SUCCEEDS }).toString(),
    });
    if (paid.status !== 303) throw new Error(`the payment page answered ${paid.status}: ${paid.body.slice(0, 200)}`);
    const answered = performance.now();
    const done = await sseUntil(stream, { cookie: s.cookie }, (e) => e.event === "done");
    if (!done) throw new Error(`the stream of ${orderId} ended without a terminal event`);
    const ended = performance.now();
    toPage.push(opened - started);
    onPage.push(answered - opened);
    afterPayment.push(ended - answered);
    return ended - started;
  });
  await stripe.webhooksIdle();
  const per = (count: number) => count / Math.max(1, load.completed);
  return {
    load,
    toPage: summarize(toPage),
    onPage: summarize(onPage),
    afterPayment: summarize(afterPayment),
    stripeCallsPerOrder: per(stripe.requests.length - callsBefore),
    webhooksPerOrder: per(stripe.deliveries.length - webhooksBefore),
  };
}
