/**
 * Whole orders with PAYMENT_PROVIDER=stripe: the worker charges through the official SDK against
 * the wire-level fake Stripe, and every money question is answered by counting on the fake's
 * side. Decline, rate limit and outage retries, a connection dropped after the charge, a worker
 * killed between the charge and its journal entry, a refund whose answer is lost: each ends with
 * exactly one charge and at most one refund. Orders waiting for approval are only authorised:
 * approval captures, rejection and timeout cancel the hold, and nothing is refunded. Approvals
 * and shipping wait a day: each test moves its order on itself (approve, ship now, cancel).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createOrdersClient } from "../web/adapters/orders-client.ts";
import { waitUntil } from "./helpers/browser-client.ts";
import { startFakeStripe, type FakeStripeServer } from "./helpers/fake-stripe-server.ts";
import { orderDriver } from "./helpers/order-driver.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";

describe("orders paid with Stripe", () => {
  let stack: TestStack;
  let fake: FakeStripeServer;
  let orders: ReturnType<typeof createOrdersClient>;

  before(async () => {
    fake = await startFakeStripe();
    stack = await startTestStack("order-stripe", {
      env: {
        PAYMENT_PROVIDER: "stripe",
        STRIPE_SECRET_KEY: fake.secretKey,
        STRIPE_API_BASE: fake.url,
        STRIPE_TIMEOUT_MS: "5000",
        APPROVAL_THRESHOLD_CENTS: "15000",
        APPROVAL_TIMEOUT_MS: "86400000",
        SHIPPING_DELAY_MS: "86400000",
      },
    });
    orders = createOrdersClient({ ingressUrl: stack.services.restate.ingressUrl });
  });
  after(async () => {
    await stack?.stop();
    await fake?.stop();
  });

  const { q, mailsTo, result, place, waitForStep, shipNow, withWorkerEnv } = orderDriver(
    () => stack,
    () => orders,
  );
  /** Money as Stripe saw it: captured charges and refunds, in cents. */
  const money = (orderId: string) => {
    const l = fake.ledgerOf(orderId);
    return {
      paymentIntents: l.paymentIntents.length,
      charges: l.charges.map((c) => c.amount),
      refunds: l.refunds.map((r) => r.amount),
    };
  };
  const keyed = (orderId: string, op: string) => fake.requests.filter((r) => r.idempotencyKey === `order:${orderId}:${op}`);

  it("charges the card once through Stripe, and nothing goes to the local ledger", async () => {
    const orderId = await place("stripe-ok@example.com", "pm_card_visa", [{ sku: "MUG-QUAY", quantity: 2 }]);
    await shipNow(orderId);
    assert.equal((await result(orderId)).outcome, "fulfilled");
    assert.deepEqual(money(orderId), { paymentIntents: 1, charges: [2800], refunds: [] });
    assert.equal(fake.ledgerOf(orderId).paymentIntents[0]?.currency, "eur");
    assert.deepEqual(await q("SELECT 1 FROM payments WHERE order_id = $1", [orderId]), []);
  });

  it("a declined card rejects the order with Stripe's reason, and nothing is charged", async () => {
    const orderId = await place("stripe-declined@example.com", "pm_card_chargeDeclined", [{ sku: "KNOT-BOOK", quantity: 1 }]);
    assert.deepEqual(await result(orderId), { orderId, outcome: "rejected", reason: "Your card was declined" });
    assert.deepEqual(money(orderId), { paymentIntents: 1, charges: [], refunds: [] });
    const mail = await waitUntil("the cancellation email", () => mailsTo("stripe-declined@example.com")[0]);
    assert.match(mail.text ?? "", /You were not charged/);
  });

  it("429 (after its Retry-After) and 503 are retried by Restate until the charge goes through, once", async () => {
    fake.failNext("create", { kind: "rate_limit", retryAfterSeconds: 2 });
    fake.failNext("create", { kind: "unavailable" });
    const orderId = await place("stripe-retry@example.com", "pm_card_visa", [{ sku: "KNOT-BOOK", quantity: 1 }]);
    await shipNow(orderId);
    assert.equal((await result(orderId)).outcome, "fulfilled");
    assert.deepEqual(money(orderId), { paymentIntents: 1, charges: [1200], refunds: [] });
    const attempts = keyed(orderId, "charge");
    assert.deepEqual(
      attempts.map((a) => a.status),
      [429, 503, 200],
    );
    assert.ok(attempts[1]!.at - attempts[0]!.at >= 1_900, "the retry after the 429 waited for its Retry-After");
  });

  it("a connection dropped after Stripe made the charge: the retried step gets the same PaymentIntent", async () => {
    // Twice: the SDK resends once by itself on a closed connection; the second loss fails the step.
    fake.failNext("create", { kind: "drop_after" }, 2);
    const orderId = await place("stripe-dropped@example.com", "pm_card_visa", [{ sku: "ROPE-COASTER", quantity: 1 }]);
    await shipNow(orderId);
    assert.equal((await result(orderId)).outcome, "fulfilled");
    assert.deepEqual(money(orderId), { paymentIntents: 1, charges: [1800], refunds: [] });
    const attempts = keyed(orderId, "charge");
    assert.ok(attempts.length >= 3, `${attempts.length} attempts`);
    assert.ok(attempts.at(-1)?.replayed, "the last attempt was answered from Stripe's idempotency store");
  });

  it("a worker killed between the charge and its journal entry: one charge after the restart", async () => {
    // Stripe makes the charge and holds its answer until the worker is dead.
    let release = () => {};
    fake.failNext("create", { kind: "hold_after", delayMs: 0, until: new Promise<void>((r) => (release = r)) });
    const orderId = await place("stripe-crash@example.com", "pm_card_visa", [{ sku: "MAP-PRINT", quantity: 1 }]);
    try {
      await waitUntil("the charge at Stripe", () => fake.ledgerOf(orderId).charges.length === 1);
      assert.ok(fake.handling(`order:${orderId}:charge`), "its answer is still held");
      await stack.worker?.kill();
    } finally {
      release();
    }
    await stack.startWorker();
    const confirmations = () => mailsTo("stripe-crash@example.com").filter((m) => m.subject.startsWith("Order confirmed"));
    await waitUntil("the confirmation email", () => confirmations().length > 0);
    await shipNow(orderId);
    assert.equal((await result(orderId)).outcome, "fulfilled");
    assert.deepEqual(money(orderId), { paymentIntents: 1, charges: [3200], refunds: [] });
    assert.ok(keyed(orderId, "charge").some((a) => a.replayed));
    // A second confirmation would go out before the order ships: after the shipped email, it would be here.
    await waitUntil("the shipped email", () =>
      mailsTo("stripe-crash@example.com").find((m) => m.subject.startsWith("Order shipped")),
    );
    assert.equal(confirmations().length, 1);
  });

  it("a customer's cancel refunds once, even when the refund's answer is lost", async () => {
    fake.failNext("refund", { kind: "drop_after" }, 2);
    const orderId = await place("stripe-cancel@example.com", "pm_card_visa", [{ sku: "TEE-ANCHOR", quantity: 1 }]);
    await waitForStep(orderId, "confirmed");
    assert.equal((await orders.control(orderId, "cancel", "changed my mind")).accepted, true);
    assert.deepEqual(await result(orderId), { orderId, outcome: "cancelled", reason: "changed my mind" });
    assert.deepEqual(money(orderId), { paymentIntents: 1, charges: [2500], refunds: [2500] });
    const mail = await waitUntil("the cancellation email", () =>
      mailsTo("stripe-cancel@example.com").find((m) => m.subject.startsWith("Order cancelled")),
    );
    assert.match(mail.text ?? "", /refunded €25\.00/);
  });

  it("an order waiting for approval is only authorised, and captured once approved", async () => {
    const orderId = await place("stripe-approved@example.com", "pm_card_visa", [{ sku: "LAMP-HARBOUR", quantity: 2 }]);
    await waitForStep(orderId, "awaiting_approval");
    const [pi] = fake.ledgerOf(orderId).paymentIntents;
    assert.equal(pi?.status, "requires_capture");
    assert.equal(pi?.capture_method, "manual");
    assert.deepEqual(money(orderId).charges, [], "nothing is taken while the order waits");
    assert.equal((await orders.control(orderId, "approve")).accepted, true);
    await shipNow(orderId);
    assert.equal((await result(orderId)).outcome, "fulfilled");
    assert.deepEqual(money(orderId), { paymentIntents: 1, charges: [17800], refunds: [] });
    assert.equal(keyed(orderId, "capture").length, 1);
  });

  it("a rejected order never charged the card: its authorisation is cancelled, nothing refunded", async () => {
    const orderId = await place("stripe-rejected@example.com", "pm_card_visa", [{ sku: "LAMP-HARBOUR", quantity: 2 }]);
    await waitForStep(orderId, "awaiting_approval");
    assert.equal((await orders.control(orderId, "reject", "not approved")).accepted, true);
    assert.deepEqual(await result(orderId), { orderId, outcome: "rejected", reason: "Rejected by an operator: not approved" });
    assert.deepEqual(money(orderId), { paymentIntents: 1, charges: [], refunds: [] });
    assert.equal(fake.ledgerOf(orderId).paymentIntents[0]?.status, "canceled");
    const mail = await waitUntil("the cancellation email", () => mailsTo("stripe-rejected@example.com")[0]);
    assert.match(mail.text ?? "", /You were not charged/);
  });

  it("an order nobody approves in time is rejected and its hold released", async () => {
    // Only this test's worker times approvals out quickly: nothing else waits for approval meanwhile.
    const orderId = await withWorkerEnv({ APPROVAL_TIMEOUT_MS: "200" }, async () => {
      const id = await place("stripe-timeout@example.com", "pm_card_visa", [{ sku: "LAMP-HARBOUR", quantity: 2 }]);
      assert.deepEqual(await result(id), { orderId: id, outcome: "rejected", reason: "No operator approved the order in time" });
      return id;
    });
    assert.deepEqual(money(orderId), { paymentIntents: 1, charges: [], refunds: [] });
    assert.equal(fake.ledgerOf(orderId).paymentIntents[0]?.status, "canceled");
  });
});
