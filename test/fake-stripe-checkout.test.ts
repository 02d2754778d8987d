/**
 * The wire fake's Checkout as a shop meets it: sessions made, read and expired through the official
 * SDK, the hosted payment page driven the way a browser without JavaScript drives it (forms and
 * 303s), and every event checked where a shop checks it, at a webhook endpoint that verifies the
 * signature with the SDK. Webhook faults (duplicates, held, dropped, badly signed, stale events)
 * and refunds, dashboard refunds and disputes are seen at that endpoint too. Outcomes are awaited
 * as conditions, never after a pause.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import Stripe from "stripe";
import { waitUntil } from "./helpers/browser-client.ts";
import { startFakeStripe, type FakeStripeServer } from "../scripts/stack/local-stripe/server.ts";

const SHOP = "http://shop.test";

/** One webhook request as the shop's endpoint saw it: verified with the SDK, or refused and why. */
interface Received {
  eventId: string;
  raw: string;
  headers: http.IncomingHttpHeaders;
  event: Stripe.Event | null;
  refusedBecause: string | null;
}

/** A shop's webhook endpoint: verifies each delivery with `constructEvent`; can answer 5xx on cue. */
async function startWebhookEndpoint(stripe: Stripe, secret: () => string) {
  const received: Received[] = [];
  const failures: number[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      const entry: Received = { eventId: idOf(raw), raw, headers: req.headers, event: null, refusedBecause: null };
      received.push(entry);
      const planned = failures.shift();
      if (planned) return void res.writeHead(planned).end();
      try {
        entry.event = stripe.webhooks.constructEvent(raw, req.headers["stripe-signature"] ?? "", secret());
        res.writeHead(200).end();
      } catch (err) {
        entry.refusedBecause = err instanceof Error ? err.message : String(err);
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/stripe`,
    received,
    /** The next deliveries are answered with these statuses before any verification. */
    failNext: (...statuses: number[]) => failures.push(...statuses),
    verified: (type: string, objectId: string) =>
      received.flatMap((r) => (r.event?.type === type && objectOf(r.event).id === objectId ? [r.event] : [])),
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function idOf(raw: string): string {
  try {
    const parsed: unknown = JSON.parse(raw);
    return parsed && typeof parsed === "object" && "id" in parsed ? String(parsed.id) : "";
  } catch {
    return "";
  }
}

/** The id of a PaymentIntent's charge. */
function chargeOf(pi: Stripe.PaymentIntent): string {
  const id = pi.latest_charge;
  return typeof id === "string" ? id : assert.fail(`${pi.id} has no charge`);
}

function objectOf(event: Stripe.Event | null): Record<string, unknown> {
  return (event?.data.object ?? {}) as unknown as Record<string, unknown>;
}

describe("fake Stripe Checkout: sessions, the hosted page and signed webhooks", () => {
  let fake: FakeStripeServer;
  let stripe: Stripe;
  let endpoint: Awaited<ReturnType<typeof startWebhookEndpoint>>;

  before(async () => {
    fake = await startFakeStripe();
    const api = new URL(fake.url);
    stripe = new Stripe(fake.secretKey, {
      host: api.hostname,
      port: api.port,
      protocol: "http",
      maxNetworkRetries: 0,
      telemetry: false,
    });
    endpoint = await startWebhookEndpoint(stripe, () => fake.webhookSecret);
    fake.webhookUrl = endpoint.url;
  });
  after(async () => {
    await fake?.stop();
    await endpoint?.stop();
  });

  const params = (
    orderId: string,
    over: Partial<Stripe.Checkout.SessionCreateParams> = {},
  ): Stripe.Checkout.SessionCreateParams => ({
    mode: "payment",
    line_items: [{ price_data: { currency: "eur", unit_amount: 1_250, product_data: { name: "Quay mug" } }, quantity: 2 }],
    client_reference_id: orderId,
    customer_email: "ada@example.com",
    metadata: { order_id: orderId },
    payment_intent_data: { capture_method: "automatic", metadata: { order_id: orderId } },
    success_url: `${SHOP}/orders/${orderId}/paid?session={CHECKOUT_SESSION_ID}`,
    cancel_url: `${SHOP}/orders/${orderId}`,
    ...over,
  });
  const open = async (over: Partial<Stripe.Checkout.SessionCreateParams> = {}) => {
    const orderId = randomUUID();
    const session = await stripe.checkout.sessions.create(params(orderId, over), { idempotencyKey: `order:${orderId}:checkout` });
    return { orderId, session };
  };
  const pageUrl = (s: Stripe.Checkout.Session) => {
    assert.ok(s.url, "the session has a payment page");
    return s.url;
  };
  /** Submits one of the payment page's forms, as a browser without JavaScript does. */
  const submit = (url: string, form: Record<string, string>) =>
    fetch(url, { method: "POST", body: new URLSearchParams(form), redirect: "manual" });
  const payByCard = (s: Stripe.Checkout.Session, card: string) => submit(pageUrl(s), { card });
  const successOf = (s: Stripe.Checkout.Session, orderId: string) => `${SHOP}/orders/${orderId}/paid?session=${s.id}`;
  const event = (type: string, objectId: string) =>
    waitUntil(`a verified ${type} for ${objectId}`, () => endpoint.verified(type, objectId)[0], 10_000);
  const intentOf = async (sessionId: string) => {
    const s = await stripe.checkout.sessions.retrieve(sessionId);
    assert.equal(typeof s.payment_intent, "string", "the session names its PaymentIntent");
    return stripe.paymentIntents.retrieve(s.payment_intent as string);
  };
  const paid = async (over: Partial<Stripe.Checkout.SessionCreateParams> = {}) => {
    const o = await open(over);
    assert.equal((await payByCard(o.session, "4242424242424242")).status, 303);
    return { ...o, intent: await intentOf(o.session.id) };
  };

  it("creates an open session with no PaymentIntent yet, and replays it for the same idempotency key", async () => {
    const orderId = randomUUID();
    const key = `order:${orderId}:checkout`;
    const first = await stripe.checkout.sessions.create(params(orderId), { idempotencyKey: key });
    const again = await stripe.checkout.sessions.create(params(orderId), { idempotencyKey: key });
    assert.deepEqual(again, first);
    assert.match(first.id, /^cs_test_/);
    assert.equal(first.object, "checkout.session");
    assert.equal(first.status, "open");
    assert.equal(first.payment_status, "unpaid");
    assert.equal(first.payment_intent, null);
    assert.equal(first.amount_total, 2_500);
    assert.equal(first.currency, "eur");
    assert.equal(first.client_reference_id, orderId);
    assert.deepEqual(first.metadata, { order_id: orderId });
    assert.equal(first.url, `${fake.url}/c/pay/${first.id}`);
    assert.ok(first.expires_at - first.created >= 24 * 3600 - 1, "a day to pay by default");
    assert.ok(fake.requests.some((r) => r.operation === "checkout" && r.idempotencyKey === key && r.replayed));
    const other = await stripe.checkout.sessions
      .create(params(orderId, { customer_email: "bo@example.com" }), { idempotencyKey: key })
      .then(
        () => assert.fail("another request with the same key"),
        (err: unknown) => err,
      );
    assert.ok(other instanceof Stripe.errors.StripeIdempotencyError, String(other));
    const ledger = fake.ledgerOf(orderId);
    assert.equal(ledger.checkoutSessions.length, 1);
    assert.equal(ledger.paymentIntents.length, 0, "Stripe makes the PaymentIntent when the customer pays");
  });

  it("refuses what Stripe refuses, naming the parameter", async () => {
    const orderId = randomUUID();
    const refusal = (p: Stripe.Checkout.SessionCreateParams) =>
      stripe.checkout.sessions.create(p).then(
        () => assert.fail("expected a 400"),
        (err: unknown) => {
          assert.ok(err instanceof Stripe.errors.StripeInvalidRequestError, String(err));
          assert.equal(err.statusCode, 400);
          return err;
        },
      );
    const now = Math.floor(Date.now() / 1000);
    assert.equal((await refusal({ ...params(orderId), line_items: [] })).param, "line_items");
    assert.equal((await refusal({ ...params(orderId), expires_at: now + 10 * 60 })).param, "expires_at");
    assert.equal((await refusal({ ...params(orderId), expires_at: now + 25 * 3600 })).param, "expires_at");
    const noName = { price_data: { currency: "eur", unit_amount: 100, product_data: { name: "" } }, quantity: 1 };
    assert.equal(
      (await refusal({ ...params(orderId), line_items: [noName] })).param,
      "line_items[0][price_data][product_data][name]",
    );
    const inAnHour = await stripe.checkout.sessions.create({ ...params(orderId), expires_at: now + 3600 });
    assert.equal(inAnHour.expires_at, now + 3600);
  });

  it("shows the amount and items on a payment page with labelled card and IBAN fields and a way back", async () => {
    const { session, orderId } = await open();
    const res = await fetch(pageUrl(session));
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
    const page = await res.text();
    assert.match(page, /<h1>Pay €25\.00<\/h1>/);
    assert.match(page, /Quay mug × 2: €25\.00/);
    assert.match(page, /<label for="card">Card number<\/label>\s*<input id="card" name="card"/);
    assert.match(page, /<button type="submit">Pay<\/button>/);
    assert.match(page, /Pay by SEPA Direct Debit/);
    assert.match(page, /<label for="iban">IBAN<\/label>\s*<input id="iban" name="iban"/);
    assert.ok(page.includes(`<a href="${SHOP}/orders/${orderId}">Back to the shop</a>`));
    // The one link is an inline empty icon, so a browser asks the fake for no favicon.
    assert.doesNotMatch(page, /<script|<link(?! rel="icon" href="data:,">)|src=/, "no external assets and no scripts");
  });

  it("4242 pays: 303 to the success URL with the id, session complete and paid, a verified checkout.session.completed", async () => {
    const { session, orderId } = await open();
    const res = await payByCard(session, "4242 4242 4242 4242");
    assert.equal(res.status, 303);
    assert.equal(res.headers.get("location"), successOf(session, orderId));

    const done = await stripe.checkout.sessions.retrieve(session.id, { expand: ["payment_intent"] });
    assert.equal(done.status, "complete");
    assert.equal(done.payment_status, "paid");
    const pi = done.payment_intent;
    assert.ok(pi && typeof pi === "object", "expand[]=payment_intent gives the object, not its id");
    assert.equal(pi.status, "succeeded");
    assert.equal(pi.amount_received, 2_500);
    assert.match(chargeOf(pi), /^ch_/);
    assert.deepEqual(pi.metadata, { order_id: orderId });
    assert.deepEqual(await stripe.paymentIntents.retrieve(pi.id), pi);

    const completed = await event("checkout.session.completed", session.id);
    assert.equal(objectOf(completed).payment_status, "paid");
    assert.equal(objectOf(completed).payment_intent, pi.id);
    assert.equal(fake.ledgerOf(orderId).charges.length, 1);

    const closed = await (await fetch(pageUrl(session))).text();
    assert.ok(closed.includes(`href="${successOf(session, orderId)}"`), "a paid page links back to the shop");
  });

  it("a manual capture is complete but unpaid until the shop captures it through the SDK", async () => {
    const { session, orderId } = await open({ payment_intent_data: { capture_method: "manual" } });
    assert.doesNotMatch(await (await fetch(pageUrl(session))).text(), /name="iban"/, "a debit cannot be held for capture");
    assert.equal((await payByCard(session, "4242424242424242")).status, 303);
    const done = await stripe.checkout.sessions.retrieve(session.id);
    assert.equal(done.status, "complete");
    assert.equal(done.payment_status, "unpaid");
    const held = await intentOf(session.id);
    assert.equal(held.status, "requires_capture");
    assert.equal(held.amount_capturable, 2_500);
    assert.equal(fake.ledgerOf(orderId).charges.length, 0);
    const captured = await stripe.paymentIntents.capture(held.id, {}, { idempotencyKey: `order:${orderId}:capture` });
    assert.equal(captured.status, "succeeded");
    assert.equal(captured.amount_received, 2_500);
    assert.equal(fake.ledgerOf(orderId).charges.length, 1);
  });

  it("a declined card leaves the session open with payment_intent.payment_failed, and the customer may try again", async () => {
    const { session, orderId } = await open();
    const declined = await payByCard(session, "4000000000000002");
    assert.equal(declined.status, 402);
    assert.match(await declined.text(), /Your card was declined\./);
    assert.equal((await stripe.checkout.sessions.retrieve(session.id)).status, "open");
    const pi = await intentOf(session.id);
    assert.equal(pi.status, "requires_payment_method");
    assert.equal(pi.last_payment_error?.code, "card_declined");
    await event("payment_intent.payment_failed", pi.id);

    const invalid = await payByCard(session, "1234 5678");
    assert.match(await invalid.text(), /Your card number is invalid\./);
    assert.equal((await payByCard(session, "4242424242424242")).headers.get("location"), successOf(session, orderId));
    const retried = await intentOf(session.id);
    assert.equal(retried.id, pi.id, "the same PaymentIntent takes the second attempt");
    assert.equal(retried.status, "succeeded");
  });

  it("3-D Secure: completing the challenge pays", async () => {
    const { session, orderId } = await open();
    const challenge = await payByCard(session, "4000002760003184");
    assert.equal(challenge.status, 303);
    assert.equal(challenge.headers.get("location"), `/c/3ds/${session.id}`);
    const challengeUrl = new URL(challenge.headers.get("location") ?? "", fake.url).href;
    const page = await (await fetch(challengeUrl)).text();
    assert.match(page, /<button type="submit" name="result" value="complete">Complete authentication<\/button>/);
    assert.match(page, /<button type="submit" name="result" value="fail">Fail authentication<\/button>/);
    const res = await submit(challengeUrl, { result: "complete" });
    assert.equal(res.headers.get("location"), successOf(session, orderId));
    assert.equal((await stripe.checkout.sessions.retrieve(session.id)).payment_status, "paid");
    await event("checkout.session.completed", session.id);
  });

  it("3-D Secure: failing the challenge goes back to the payment page and the session stays open", async () => {
    const { session } = await open();
    await payByCard(session, "4000002760003184");
    const res = await submit(`${fake.url}/c/3ds/${session.id}`, { result: "fail" });
    assert.match(
      await res.text(),
      /We are unable to authenticate your payment method\. Please choose a different payment method and try again\./,
    );
    assert.equal((await stripe.checkout.sessions.retrieve(session.id)).status, "open");
    const pi = await intentOf(session.id);
    assert.equal(pi.last_payment_error?.code, "payment_intent_authentication_failure");
    await event("payment_intent.payment_failed", pi.id);
  });

  it("SEPA Direct Debit: complete but unpaid while processing, then the bank's answer as async_payment events", async () => {
    const good = await open();
    const res = await submit(pageUrl(good.session), { iban: "AT61 1904 3002 3457 3201" });
    assert.equal(res.headers.get("location"), successOf(good.session, good.orderId));
    const completed = await event("checkout.session.completed", good.session.id);
    assert.equal(objectOf(completed).payment_status, "unpaid");
    assert.equal((await intentOf(good.session.id)).status, "processing");
    fake.settleAsync(good.session.id, "succeeded");
    await event("checkout.session.async_payment_succeeded", good.session.id);
    assert.equal((await stripe.checkout.sessions.retrieve(good.session.id)).payment_status, "paid");
    assert.equal((await intentOf(good.session.id)).status, "succeeded");

    const bad = await open();
    await submit(pageUrl(bad.session), { iban: "AT861904300235473202" });
    fake.settleAsync(bad.session.id);
    const failed = await event("checkout.session.async_payment_failed", bad.session.id);
    assert.equal(objectOf(failed).payment_status, "unpaid");
    assert.equal((await intentOf(bad.session.id)).status, "requires_payment_method");
  });

  it("with asyncSettleAfterMs, a debit settles by itself as its test IBAN intends", async () => {
    const own = await startFakeStripe({ asyncSettleAfterMs: 20 });
    try {
      const api = new URL(own.url);
      const client = new Stripe(own.secretKey, { host: api.hostname, port: api.port, protocol: "http", maxNetworkRetries: 0 });
      const session = await client.checkout.sessions.create(params(randomUUID()));
      await submit(pageUrl(session), { iban: "AT861904300235473202" });
      await waitUntil("the failing debit to settle", () =>
        own.events.some((e) => e.type === "checkout.session.async_payment_failed"),
      );
    } finally {
      await own.stop();
    }
  });

  it("expire through the API: the page says so, the event is sent, and a second expire is a 400", async () => {
    const { session, orderId } = await open();
    const expired = await stripe.checkout.sessions.expire(session.id, {}, { idempotencyKey: `order:${orderId}:expire` });
    assert.equal(expired.status, "expired");
    await event("checkout.session.expired", session.id);
    const page = await fetch(pageUrl(session));
    assert.match(await page.text(), /This payment page has expired/);
    assert.equal((await payByCard(session, "4242424242424242")).status, 409);
    assert.equal(fake.ledgerOf(orderId).paymentIntents.length, 0);
    const again = await stripe.checkout.sessions.expire(session.id).catch((err: unknown) => err);
    assert.ok(again instanceof Stripe.errors.StripeInvalidRequestError, String(again));
    assert.match(again.message, /Only Checkout Sessions with a status in \["open"\] can be expired.*status of `expired`/);
  });

  it("expiring a completed session is a 400", async () => {
    const { session } = await paid();
    const err = await stripe.checkout.sessions.expire(session.id).catch((e: unknown) => e);
    assert.ok(err instanceof Stripe.errors.StripeInvalidRequestError, String(err));
    assert.equal(err.statusCode, 400);
    assert.match(err.message, /status of `complete`/);
  });

  it("expires by time: expireDue, or the next look at the session; each once, cancelling a failed attempt's PaymentIntent", async () => {
    const soon = Math.floor(Date.now() / 1000) + 31 * 60;
    const { session: swept } = await open({ expires_at: soon });
    const { session: looked } = await open({ expires_at: soon });
    await payByCard(swept, "4000000000000002");
    const attempt = await intentOf(swept.id);
    fake.advanceClock(32 * 60);
    assert.ok(fake.expireDue().includes(swept.id));
    assert.equal((await stripe.paymentIntents.retrieve(attempt.id)).status, "canceled");
    assert.equal((await stripe.checkout.sessions.retrieve(looked.id)).status, "expired");
    assert.equal(fake.expire(looked.id), false, "already expired");
    assert.ok(!fake.expireDue().includes(looked.id));
    await event("checkout.session.expired", looked.id);
    await fake.webhooksIdle();
    for (const id of [swept.id, looked.id])
      assert.equal(fake.events.filter((e) => e.type === "checkout.session.expired" && e.data.object.id === id).length, 1);
  });

  it("signs like Stripe: the SDK's test header matches, with Stripe's content type and user agent", async () => {
    const { session } = await paid();
    const got = (await event("checkout.session.completed", session.id)).id;
    const delivery = endpoint.received.find((r) => r.eventId === got);
    assert.ok(delivery);
    assert.equal(delivery.headers["content-type"], "application/json; charset=utf-8");
    assert.equal(delivery.headers["user-agent"], "Stripe/1.0 (+https://stripe.com/docs/webhooks)");
    const header = String(delivery.headers["stripe-signature"]);
    const t = Number(/^t=(\d+),v1=[0-9a-f]{64}$/.exec(header)?.[1]);
    const expected = stripe.webhooks.generateTestHeaderString({
      payload: delivery.raw,
      secret: fake.webhookSecret,
      timestamp: t,
    });
    assert.equal(header, expected);
  });

  it("a badly signed or stale event fails verification at every attempt; Resend delivers it properly", async () => {
    fake.webhookFault("checkout.session.completed", { kind: "bad_signature" });
    fake.webhookFault("checkout.session.expired", { kind: "stale" });
    const { session: forged } = await paid();
    const { session: stale } = await open();
    fake.expire(stale.id);
    await fake.webhooksIdle();
    const forgedEvent = fake.events.find((e) => e.type === "checkout.session.completed" && e.data.object.id === forged.id);
    const staleEvent = fake.events.find((e) => e.type === "checkout.session.expired" && e.data.object.id === stale.id);
    assert.ok(forgedEvent && staleEvent);
    const refusals = (id: string) => endpoint.received.filter((r) => r.eventId === id).map((r) => r.refusedBecause);
    assert.equal(refusals(forgedEvent.id).length, 1 + fake.webhookRetries);
    assert.ok(refusals(forgedEvent.id).every((m) => m?.includes("No signatures found matching the expected signature")));
    assert.ok(refusals(staleEvent.id).every((m) => m?.includes("Timestamp outside the tolerance zone")));
    assert.deepEqual(
      fake.deliveries.filter((d) => d.eventId === forgedEvent.id).map((d) => [d.status, d.outcome]),
      [
        [400, "retrying"],
        [400, "retrying"],
        [400, "retrying"],
        [400, "failed"],
      ],
    );
    assert.equal(endpoint.verified("checkout.session.completed", forged.id).length, 0);
    assert.equal(await fake.resend(forgedEvent.id), 200);
    assert.equal(endpoint.verified("checkout.session.completed", forged.id)[0]?.id, forgedEvent.id);
  });

  it("an endpoint that answers 5xx gets the event again until it takes it", async () => {
    endpoint.failNext(500, 503);
    const { session } = await open();
    fake.expire(session.id);
    await event("checkout.session.expired", session.id);
    // The endpoint has the event before the fake has its answer: wait for the fake to record it.
    await fake.webhooksIdle();
    const id = fake.events.find((e) => e.type === "checkout.session.expired" && e.data.object.id === session.id)?.id;
    assert.deepEqual(
      fake.deliveries.filter((d) => d.eventId === id).map((d) => [d.attempt, d.status, d.outcome]),
      [
        [1, 500, "retrying"],
        [2, 503, "retrying"],
        [3, 200, "delivered"],
      ],
    );
  });

  it("a duplicated event arrives several times with the same id and the same bytes", async () => {
    fake.webhookFault("checkout.session.completed", { kind: "duplicate", copies: 3 });
    const { session } = await paid();
    await fake.webhooksIdle();
    const copies = endpoint.received.filter(
      (r) => r.event?.type === "checkout.session.completed" && objectOf(r.event).id === session.id,
    );
    assert.equal(copies.length, 3);
    assert.equal(new Set(copies.map((c) => c.eventId)).size, 1);
    assert.equal(new Set(copies.map((c) => c.raw)).size, 1);
  });

  it("a held event arrives after later ones, once released", async () => {
    let release = () => {};
    fake.webhookFault("checkout.session.completed", { kind: "hold", until: new Promise<void>((r) => (release = r)) });
    const { session: late } = await paid();
    const { session: later } = await open();
    fake.expire(later.id);
    await event("checkout.session.expired", later.id);
    await fake.webhooksIdle();
    assert.equal(endpoint.verified("checkout.session.completed", late.id).length, 0, "held");
    release();
    await event("checkout.session.completed", late.id);
    const at = (type: string, id: string) =>
      endpoint.received.findIndex((r) => r.event?.type === type && objectOf(r.event).id === id);
    assert.ok(at("checkout.session.expired", later.id) < at("checkout.session.completed", late.id));
  });

  it("a dropped event is recorded but never delivered", async () => {
    const { session } = await open();
    fake.webhookFault("*", { kind: "drop" });
    fake.expire(session.id);
    await fake.webhooksIdle();
    const dropped = fake.events.find((e) => e.type === "checkout.session.expired" && e.data.object.id === session.id);
    assert.ok(dropped, "the event exists");
    assert.equal(fake.deliveries.filter((d) => d.eventId === dropped.id).length, 0);
    assert.equal(endpoint.received.filter((r) => r.eventId === dropped.id).length, 0);
  });

  it("a pending refund that fails emits refund.updated and no charge.refunded; a refund that succeeds emits charge.refunded", async () => {
    const { intent, orderId } = await paid();
    fake.queueRefundOutcome("pending");
    const pending = await stripe.refunds.create(
      { payment_intent: intent.id, metadata: { order_id: orderId } },
      { idempotencyKey: `order:${orderId}:refund` },
    );
    assert.equal(pending.status, "pending");
    assert.equal(pending.charge, intent.latest_charge);
    assert.equal(pending.payment_intent, intent.id);
    fake.settleRefund(pending.id, "failed");
    const updated = await event("refund.updated", pending.id);
    assert.equal(objectOf(updated).status, "failed");
    assert.ok(objectOf(updated).failure_reason);
    assert.equal((await stripe.refunds.retrieve(pending.id)).status, "failed");
    await fake.webhooksIdle();
    assert.equal(endpoint.verified("charge.refunded", chargeOf(intent)).length, 0);

    const refund = await stripe.refunds.create({ payment_intent: intent.id }, { idempotencyKey: `order:${orderId}:refund:2` });
    assert.equal(refund.status, "succeeded");
    const charge = objectOf(await event("charge.refunded", chargeOf(intent)));
    assert.equal(charge.amount_refunded, 2_500);
    assert.equal(charge.refunded, true);
    assert.equal(fake.ledgerOf(orderId).refunds.length, 2);
  });

  it("a refund and a dispute made outside the shop reach it as events", async () => {
    const { intent, orderId } = await paid();
    const refund = fake.dashboardRefund(intent.id, 500);
    assert.deepEqual(refund.metadata, {});
    const charge = objectOf(await event("charge.refunded", chargeOf(intent)));
    assert.equal(charge.amount_refunded, 500);
    assert.equal(charge.refunded, false);

    const dispute = fake.dispute(intent.id);
    const got = objectOf(await event("charge.dispute.created", dispute.id));
    assert.match(String(got.id), /^dp_/);
    assert.equal(got.object, "dispute");
    assert.equal(got.charge, intent.latest_charge);
    assert.equal(got.payment_intent, intent.id);
    assert.equal(got.amount, 2_500);
    assert.equal(got.reason, "fraudulent");
    assert.equal(got.status, "needs_response");
    const ledger = fake.ledgerOf(orderId);
    assert.equal(ledger.disputes.length, 1);
    assert.equal(ledger.refunds.length, 1);
    assert.equal(ledger.checkoutSessions.length, 1);
  });

  it("reads can fail like writes: a 503 on retrieve, then the session", async () => {
    const { session } = await open();
    fake.failNext("retrieve_session", { kind: "unavailable" });
    const err = await stripe.checkout.sessions.retrieve(session.id).catch((e: unknown) => e);
    assert.ok(err instanceof Stripe.errors.StripeError && err.statusCode === 503, String(err));
    assert.equal((await stripe.checkout.sessions.retrieve(session.id)).id, session.id);
    const missing = await stripe.checkout.sessions.retrieve("cs_test_nope").catch((e: unknown) => e);
    assert.ok(missing instanceof Stripe.errors.StripeInvalidRequestError && missing.statusCode === 404, String(missing));
  });
});
