/**
 * Whole orders with PAYMENT_PROVIDER=stripe: the customer pays on Stripe's hosted page (the wire
 * fake's, driven with the forms a browser submits), Stripe's signed webhooks reach the web, and
 * the order asks Stripe where its payment stands. Every money question is answered by counting on
 * the fake's side. Webhooks duplicated, held back, lost or forged; a page paid, declined, passed or
 * failed at 3-D Secure, paid by a bank debit that settles later, or left to expire; a cancel while
 * the page is open or at the moment it is paid; a provider that keeps failing; a worker killed
 * right after the page was opened: each ends with at most one charge, given back when the order
 * does not go ahead. Approvals and shipping wait a day: each test moves its order on itself.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { HOSTED_PAYMENT } from "../shared/order.schema.ts";
import { createOrdersClient } from "../web/adapters/orders-client.ts";
import { TEST_CALL_TIMEOUT_MS } from "./helpers/call-timeout.ts";
import { waitUntil } from "./helpers/browser-client.ts";
import {
  CARD_3DS,
  CARD_DECLINED,
  IBAN_FAILS,
  startFakeStripe,
  type FakeStripeServer,
} from "../scripts/stack/local-stripe/server.ts";
import { orderDriver } from "./helpers/order-driver.ts";
import { restateSql } from "./helpers/restate-admin.ts";
import { checkoutDriver, deliverWebhooksTo, stripeEnv } from "./helpers/stripe-checkout.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";

describe("orders paid on Stripe's page", () => {
  let stack: TestStack;
  let fake: FakeStripeServer;
  let orders: ReturnType<typeof createOrdersClient>;

  before(async () => {
    fake = await startFakeStripe();
    stack = await startTestStack("order-stripe", {
      web: true,
      env: {
        ...stripeEnv(fake),
        APPROVAL_THRESHOLD_CENTS: "15000",
        APPROVAL_TIMEOUT_MS: "86400000",
        SHIPPING_DELAY_MS: "86400000",
      },
    });
    deliverWebhooksTo(fake, stack);
    orders = createOrdersClient({ ingressUrl: stack.services.restate.ingressUrl, timeoutMs: TEST_CALL_TIMEOUT_MS });
  });
  after(async () => {
    await stack?.stop();
    await fake?.stop();
  });

  const { q, mailsTo, result, place, waitForStep, shipNow, withWorkerEnv } = orderDriver(
    () => stack,
    () => orders,
  );
  const { sessionOf, payByCard, payBySepa } = checkoutDriver(() => fake);
  const order = (email: string, sku: string, quantity = 1) => place(email, HOSTED_PAYMENT, [{ sku, quantity }]);
  /** Money as Stripe saw it: payment intents, captured charges and refunds, in cents. */
  const money = (orderId: string) => {
    const l = fake.ledgerOf(orderId);
    return {
      paymentIntents: l.paymentIntents.length,
      charges: l.charges.map((c) => c.amount),
      refunds: l.refunds.map((r) => r.amount),
    };
  };
  const stockOf = async (sku: string) => Number((await q("SELECT stock FROM products WHERE sku = $1", [sku]))[0].stock);
  const stepOf = async (orderId: string) => (await orders.status(orderId)).step;
  const deliveriesOf = (sessionId: string, type: string) => {
    const ids = new Set(
      fake.events.filter((e) => e.type === type && (e.data.object as { id?: string }).id === sessionId).map((e) => e.id),
    );
    return fake.deliveries.filter((d) => ids.has(d.eventId));
  };

  it("the customer pays on the hosted page, the webhook moves the order on: one charge, nothing in our ledger", async () => {
    const orderId = await order("checkout-ok@example.com", "MUG-QUAY", 2);
    await waitForStep(orderId, "awaiting_payment");
    const session = await sessionOf(orderId);
    assert.equal((await orders.status(orderId)).data?.paymentUrl, session.url, "the waiting event carries the payment page");
    assert.equal(session.amount_total, 2800);
    assert.equal(session.currency, "eur");
    const paid = await payByCard(orderId);
    assert.equal(paid.status, 303);
    assert.equal(paid.headers.get("location"), `${stack.env.PUBLIC_WEB_URL}/orders/${orderId}?paid=1`);
    await shipNow(orderId);
    assert.equal((await result(orderId)).outcome, "fulfilled");
    assert.deepEqual(money(orderId), { paymentIntents: 1, charges: [2800], refunds: [] });
    const [row] = await q("SELECT payment_ref, checkout_session_id FROM orders WHERE id = $1", [orderId]);
    assert.deepEqual(row, { payment_ref: fake.ledgerOf(orderId).paymentIntents[0]?.id, checkout_session_id: session.id });
    assert.deepEqual(await q("SELECT 1 FROM payments WHERE order_id = $1", [orderId]), []);
    // The order moves on while the web is still answering Stripe: wait for the fake to record the answer.
    await fake.webhooksIdle();
    assert.ok(deliveriesOf(session.id, "checkout.session.completed").some((d) => d.status === 200));
  });

  it("3-D Secure: a failed challenge leaves the page open for another try, a passed one pays", async () => {
    const orderId = await order("checkout-3ds@example.com", "KNOT-BOOK");
    // The snapshot says so once the page is open: from then on only a payment moves the order.
    await waitForStep(orderId, "awaiting_payment");
    assert.equal((await payByCard(orderId, CARD_3DS, "fail")).status, 402);
    assert.equal(await stepOf(orderId), "awaiting_payment", "a failed challenge does not end the order");
    assert.equal((await payByCard(orderId, CARD_3DS, "complete")).status, 303);
    await shipNow(orderId);
    assert.equal((await result(orderId)).outcome, "fulfilled");
    assert.deepEqual(money(orderId), { paymentIntents: 1, charges: [1200], refunds: [] });
  });

  it("a declined card, then a page left to expire: the order ends unpaid, its stock back, nothing taken", async () => {
    const before = await stockOf("ROPE-COASTER");
    const orderId = await order("checkout-expired@example.com", "ROPE-COASTER");
    // The snapshot says so once the page is open: from then on only a payment moves the order.
    await waitForStep(orderId, "awaiting_payment");
    assert.equal((await payByCard(orderId, CARD_DECLINED)).status, 402);
    assert.equal(await stepOf(orderId), "awaiting_payment");
    // The decline's webhook wakes the order, which asks Stripe and says why; the page stays open.
    const told = await waitUntil("the decline on the order", async () => {
      const s = await orders.status(orderId);
      return s.message.startsWith("Your card was declined. Try again, or another card") ? s : null;
    });
    assert.equal(told.data?.paymentUrl, (await sessionOf(orderId)).url, "the Pay now link stays");
    assert.deepEqual(await q("SELECT status, status_reason FROM orders WHERE id = $1", [orderId]), [
      { status: "awaiting_payment", status_reason: "Payment attempt failed: Your card was declined" },
    ]);
    assert.ok(fake.expire((await sessionOf(orderId)).id));
    assert.deepEqual(await result(orderId), {
      orderId,
      outcome: "rejected",
      reason: "Payment not completed: the payment page expired before the order was paid",
    });
    assert.equal(await stockOf("ROPE-COASTER"), before);
    assert.deepEqual(money(orderId).charges, []);
    const mail = await waitUntil("the cancellation email", () => mailsTo("checkout-expired@example.com")[0]);
    assert.match(mail.text ?? "", /You were not charged/);
  });

  it("a lost webhook: the order asks Stripe itself and goes on", async () => {
    fake.webhookFault("checkout.session.completed", { kind: "drop" });
    const orderId = await withWorkerEnv({ PAYMENT_CHECK_INTERVAL_MS: "1000" }, async () => {
      const id = await order("checkout-lost@example.com", "TEE-ANCHOR");
      await payByCard(id);
      await waitForStep(id, "confirmed");
      return id;
    });
    const session = await sessionOf(orderId);
    assert.deepEqual(deliveriesOf(session.id, "checkout.session.completed"), [], "the webhook never came");
    await shipNow(orderId);
    assert.equal((await result(orderId)).outcome, "fulfilled");
    assert.deepEqual(money(orderId), { paymentIntents: 1, charges: [2500], refunds: [] });
  });

  it("a webhook delivered three times is one effect", async () => {
    fake.webhookFault("checkout.session.completed", { kind: "duplicate", copies: 3 });
    const orderId = await order("checkout-dup@example.com", "MUG-QUAY");
    await payByCard(orderId);
    await waitForStep(orderId, "confirmed");
    await fake.webhooksIdle();
    const session = await sessionOf(orderId);
    const delivered = deliveriesOf(session.id, "checkout.session.completed");
    assert.equal(delivered.length, 3);
    assert.ok(delivered.every((d) => d.status === 200));
    const [row] = await restateSql(
      stack.services.restate.adminUrl,
      `SELECT count(*) AS n FROM sys_invocation WHERE target_handler_name = 'paymentEvent' AND target_service_key = '${orderId}'`,
    );
    assert.equal(Number(row?.n), 1, "one invocation per event id");
    await shipNow(orderId);
    assert.equal((await result(orderId)).outcome, "fulfilled");
    assert.deepEqual(money(orderId), { paymentIntents: 1, charges: [1400], refunds: [] });
  });

  it("a forged or stale signature is refused with 400 and changes nothing; the genuine event then does", async () => {
    fake.webhookFault("checkout.session.completed", { kind: "bad_signature" });
    const orderId = await order("checkout-forged@example.com", "KNOT-BOOK");
    // The snapshot says so once the page is open: from then on only a payment moves the order.
    await waitForStep(orderId, "awaiting_payment");
    await payByCard(orderId);
    await fake.webhooksIdle();
    const session = await sessionOf(orderId);
    const refused = deliveriesOf(session.id, "checkout.session.completed");
    assert.ok(refused.length > 0 && refused.every((d) => d.status === 400), JSON.stringify(refused));
    assert.equal(await stepOf(orderId), "awaiting_payment", "a forged event moves nothing");
    const stale = await fetch(`${stack.webUrl}/webhooks/stripe`, {
      method: "POST",
      headers: { "content-type": "application/json", "stripe-signature": `t=${Math.floor(Date.now() / 1000) - 600},v1=00` },
      body: "{}",
    });
    assert.equal(stale.status, 400);
    const event = fake.events.find(
      (e) => e.type === "checkout.session.completed" && (e.data.object as { id: string }).id === session.id,
    );
    assert.equal(await fake.resend(event!.id), 200);
    await waitForStep(orderId, "confirmed");
    await shipNow(orderId);
    assert.equal((await result(orderId)).outcome, "fulfilled");
  });

  it("a body over the limit is refused unread (413), and so is a missing signature (400)", async () => {
    const big = await fetch(`${stack.webUrl}/webhooks/stripe`, {
      method: "POST",
      headers: { "content-type": "application/json", "stripe-signature": "t=1,v1=00" },
      body: JSON.stringify({ pad: "x".repeat(1024 * 1024) }),
    });
    assert.equal(big.status, 413);
    const unsigned = await fetch(`${stack.webUrl}/webhooks/stripe`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(unsigned.status, 400);
    assert.equal(unsigned.headers.get("set-cookie"), null, "a webhook gets no session");
  });

  it("a cancel while the page is open closes it: nothing charged, the page can no longer be paid", async () => {
    const orderId = await order("checkout-cancel@example.com", "MAP-PRINT");
    await waitForStep(orderId, "awaiting_payment");
    assert.equal((await orders.control(orderId, "cancel", "changed my mind")).accepted, true);
    assert.deepEqual(await result(orderId), { orderId, outcome: "cancelled", reason: "changed my mind" });
    const session = await sessionOf(orderId);
    assert.equal(fake.checkoutSessions.get(session.id)?.status, "expired");
    assert.equal((await payByCard(orderId)).status, 409, "an expired page takes no payment");
    assert.deepEqual(money(orderId), { paymentIntents: 0, charges: [], refunds: [] });
  });

  it("paid at the moment of a cancel: the payment is found when the page is closed, and given back", async () => {
    // The completed event is held: the order hears of the payment only when it closes the page.
    let release = () => {};
    fake.webhookFault("checkout.session.completed", { kind: "hold", until: new Promise<void>((r) => (release = r)) });
    const orderId = await order("checkout-paid-cancel@example.com", "TEE-ANCHOR");
    try {
      await payByCard(orderId);
      assert.equal((await orders.control(orderId, "cancel", "too late")).accepted, true);
      assert.deepEqual(await result(orderId), { orderId, outcome: "cancelled", reason: "too late" });
    } finally {
      release();
    }
    assert.deepEqual(money(orderId), { paymentIntents: 1, charges: [2500], refunds: [2500] });
    await fake.webhooksIdle();
    const mail = await waitUntil("the cancellation email", () => mailsTo("checkout-paid-cancel@example.com")[0]);
    assert.match(mail.text ?? "", /refunded €25\.00/);
  });

  it("an order waiting for approval is only authorised on the page, captured once approved", async () => {
    const orderId = await order("checkout-approved@example.com", "LAMP-HARBOUR", 2);
    await payByCard(orderId);
    await waitForStep(orderId, "awaiting_approval");
    const [pi] = fake.ledgerOf(orderId).paymentIntents;
    assert.equal(pi?.status, "requires_capture");
    assert.equal(pi?.capture_method, "manual");
    assert.deepEqual(money(orderId).charges, [], "nothing is taken while the order waits");
    assert.equal((await orders.control(orderId, "approve")).accepted, true);
    await shipNow(orderId);
    assert.equal((await result(orderId)).outcome, "fulfilled");
    assert.deepEqual(money(orderId), { paymentIntents: 1, charges: [17800], refunds: [] });
  });

  it("a rejected order never took the money: its authorisation is released, nothing refunded", async () => {
    const orderId = await order("checkout-rejected@example.com", "LAMP-HARBOUR", 2);
    await payByCard(orderId);
    await waitForStep(orderId, "awaiting_approval");
    assert.equal((await orders.control(orderId, "reject", "not approved")).accepted, true);
    assert.deepEqual(await result(orderId), { orderId, outcome: "rejected", reason: "Rejected by an operator: not approved" });
    assert.deepEqual(money(orderId), { paymentIntents: 1, charges: [], refunds: [] });
    assert.equal(fake.ledgerOf(orderId).paymentIntents[0]?.status, "canceled");
  });

  it("a bank debit: processing until the bank says; succeeded goes on, failed ends the order with its stock back", async () => {
    const ok = await order("checkout-sepa-ok@example.com", "MUG-QUAY");
    assert.equal((await payBySepa(ok)).status, 303);
    await waitForStep(ok, "payment_processing");
    fake.settleAsync((await sessionOf(ok)).id, "succeeded");
    await shipNow(ok);
    assert.equal((await result(ok)).outcome, "fulfilled");
    assert.deepEqual(money(ok), { paymentIntents: 1, charges: [1400], refunds: [] });

    const before = await stockOf("KNOT-BOOK");
    const failed = await order("checkout-sepa-failed@example.com", "KNOT-BOOK");
    await payBySepa(failed, IBAN_FAILS);
    await waitForStep(failed, "payment_processing");
    fake.settleAsync((await sessionOf(failed)).id, "failed");
    const r = await result(failed);
    assert.equal(r.outcome, "rejected");
    assert.match(r.reason ?? "", /^Payment not completed/);
    assert.equal(await stockOf("KNOT-BOOK"), before);
    assert.deepEqual(money(failed).charges, []);
  });

  it("a provider that keeps failing: the step ends after its retry budget and the order is compensated", async () => {
    const before = await stockOf("MAP-PRINT");
    // Exactly the budget: were there a fourth attempt, it would succeed and the order go on.
    fake.failNext("checkout", { kind: "unavailable" }, 3);
    const orderId = await withWorkerEnv({ PAYMENT_RETRY_LIMIT: "3" }, async () => {
      const id = await order("checkout-down@example.com", "MAP-PRINT");
      await waitUntil(
        "the order failed, as operators see it",
        async () => (await q("SELECT status FROM orders WHERE id = $1", [id]))[0]?.status === "failed",
      );
      return id;
    });
    assert.equal(await stockOf("MAP-PRINT"), before, "its stock is back");
    assert.equal(
      fake.requests.filter((r) => r.idempotencyKey === `order:${orderId}:checkout`).length,
      3,
      "three attempts, then it stopped",
    );
  });

  it("Stripe not answering the order's check is no verdict: the order asks again and goes on", async () => {
    const orderId = await withWorkerEnv({ PAYMENT_RETRY_LIMIT: "2", PAYMENT_CHECK_INTERVAL_MS: "1000" }, async () => {
      const id = await order("checkout-check-down@example.com", "MUG-QUAY");
      await sessionOf(id);
      // The whole budget of the check the webhook triggers: it ends, and the order waits on.
      fake.failNext("retrieve_session", { kind: "unavailable" }, 2);
      await payByCard(id);
      await waitForStep(id, "confirmed");
      return id;
    });
    assert.ok(fake.requests.filter((r) => r.operation === "retrieve_session" && r.status === 503).length >= 2);
    await shipNow(orderId);
    assert.equal((await result(orderId)).outcome, "fulfilled");
    assert.deepEqual(money(orderId), { paymentIntents: 1, charges: [1400], refunds: [] });
  });

  it("a worker killed after Stripe opened the page but before the journal knew: one page after the restart", async () => {
    let release = () => {};
    fake.failNext("checkout", { kind: "hold_after", delayMs: 0, until: new Promise<void>((r) => (release = r)) });
    const orderId = await order("checkout-crash@example.com", "TEE-ANCHOR");
    try {
      await waitUntil("the page at Stripe", () => fake.ledgerOf(orderId).checkoutSessions.length === 1);
      assert.ok(fake.handling(`order:${orderId}:checkout`), "its answer is still held");
      await stack.worker?.kill();
    } finally {
      release();
    }
    await stack.startWorker();
    await waitForStep(orderId, "awaiting_payment");
    await payByCard(orderId);
    await shipNow(orderId);
    assert.equal((await result(orderId)).outcome, "fulfilled");
    assert.equal(fake.ledgerOf(orderId).checkoutSessions.length, 1);
    assert.deepEqual(money(orderId), { paymentIntents: 1, charges: [2500], refunds: [] });
  });
});
