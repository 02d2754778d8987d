/**
 * An operator's refund of a fulfilled order through the OrderRefund object, with the local ledger
 * and with Stripe (the wire fake): the whole amount once, the order's row, its timeline and one
 * email say "Refunded by the shop", stock stays shipped; refusals say why; and a retried request,
 * a lost answer or a worker killed between the refund and its journal entry still refund once.
 * With Stripe, what happens after: a pending refund says so until the bank settles it (through the
 * webhook, or the order's own check when the webhook never comes), a failed one reaches the
 * operators and may be made again, and refunds and disputes made in Stripe's dashboard reach the
 * order's row, timeline and email.
 * Emails are counted once Restate has no email send left to run, not after a pause.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { v7 as uuidv7 } from "uuid";
import { streamKey } from "../shared/progress-event.ts";
import { createOrderRefundsClient } from "../web/adapters/order-refunds-client.ts";
import { createOrdersClient } from "../web/adapters/orders-client.ts";
import { waitUntil } from "./helpers/browser-client.ts";
import { CARD_DECLINED, startFakeStripe, type FakeStripeServer } from "../scripts/stack/local-stripe/server.ts";
import { checkoutDriver, deliverWebhooksTo, stripeEnv } from "./helpers/stripe-checkout.ts";
import { HOSTED_PAYMENT } from "../shared/order.schema.ts";
import { orderDriver } from "./helpers/order-driver.ts";
import { restateSql } from "./helpers/restate-admin.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";

const OPERATOR = { operator: "dana", reason: "arrived damaged" };

function refundSuite(name: string, env: () => Promise<{ env: NodeJS.ProcessEnv; fake?: FakeStripeServer }>) {
  let stack: TestStack;
  let fake: FakeStripeServer | undefined;
  let orders: ReturnType<typeof createOrdersClient>;
  let refunds: ReturnType<typeof createOrderRefundsClient>;
  let redis: Redis;

  before(async () => {
    const e = await env();
    fake = e.fake;
    // With Stripe the customer pays on its page and its webhooks reach the web.
    stack = await startTestStack(name, {
      web: fake !== undefined,
      env: { SHIPPING_DELAY_MS: "100", APPROVAL_THRESHOLD_CENTS: "15000", ...e.env },
    });
    if (fake) deliverWebhooksTo(fake, stack);
    orders = createOrdersClient({ ingressUrl: stack.services.restate.ingressUrl });
    refunds = createOrderRefundsClient({ ingressUrl: stack.services.restate.ingressUrl, timeoutMs: 30_000 });
    redis = new Redis(stack.services.valkeyUrl);
  });
  after(async () => {
    redis?.disconnect();
    await stack?.stop();
    await fake?.stop();
  });

  const { q, mailsTo, result, place, waitForStep, lockRow, blockedOn, emailsSettled } = orderDriver(
    () => stack,
    () => orders,
  );
  /** Refunds that moved money for the order, in cents: the local ledger's rows or Stripe's refunds. */
  const refunded = async (orderId: string): Promise<number[]> =>
    fake
      ? fake.ledgerOf(orderId).refunds.map((r) => r.amount)
      : (
          await q("SELECT amount_cents FROM payments WHERE order_id = $1 AND kind = 'refund' AND status = 'succeeded'", [orderId])
        ).map((r) => Number(r.amount_cents));
  const timeline = async (orderId: string) =>
    (await redis.xrange(streamKey({ kind: "order", id: orderId }), "-", "+")).map(
      ([, fields]) => JSON.parse(fields[1] ?? "{}") as { seq: number; step: string; message: string; kind: string },
    );
  const fulfilled = async (email: string, sku = "MUG-QUAY", quantity = 2) => {
    const orderId = await place(email, fake ? HOSTED_PAYMENT : "pm_card_visa", [{ sku, quantity }]);
    if (fake) await checkoutDriver(() => fake!).payByCard(orderId);
    assert.equal((await result(orderId)).outcome, "fulfilled");
    return orderId;
  };
  const refundEmails = (email: string) => mailsTo(email).filter((m) => m.subject.startsWith("Order refunded"));

  it("refunds the whole amount once; the row, the timeline and one email say the shop did it; stock stays shipped", async () => {
    const stockBefore = Number((await q("SELECT stock FROM products WHERE sku = 'MUG-QUAY'"))[0].stock);
    const orderId = await fulfilled(`${name}-refund@example.com`);
    const stockShipped = Number((await q("SELECT stock FROM products WHERE sku = 'MUG-QUAY'"))[0].stock);
    assert.equal(stockShipped, stockBefore - 2);
    const before = await timeline(orderId);
    assert.equal(before.at(-1)?.step, "fulfilled");

    assert.deepEqual(await refunds.refund(orderId, OPERATOR, uuidv7()), { accepted: true, message: "Refunded €28.00." });
    assert.deepEqual(await refunded(orderId), [2800]);
    const row = (await q("SELECT status, status_reason FROM orders WHERE id = $1", [orderId]))[0];
    assert.deepEqual(row, { status: "refunded", status_reason: "Refunded by the shop (dana): arrived damaged" });
    assert.deepEqual(
      (await q("SELECT amount_cents, operator, reason FROM order_refunds WHERE order_id = $1", [orderId])).map((r) => ({ ...r })),
      [{ amount_cents: 2800, operator: "dana", reason: "arrived damaged" }],
    );
    const after = await timeline(orderId);
    assert.equal(after.length, before.length + 1);
    assert.deepEqual(
      { ...after.at(-1), at: undefined, data: undefined, percent: undefined, status: undefined },
      {
        seq: (before.at(-1)?.seq ?? 0) + 1,
        kind: "terminal",
        step: "refunded",
        message: "Refunded by the shop (dana): arrived damaged",
        at: undefined,
        data: undefined,
        percent: undefined,
        status: undefined,
      },
    );
    const mail = await waitUntil("the refund email", () => refundEmails(`${name}-refund@example.com`)[0]);
    assert.match(mail.text ?? "", /Refunded by the shop: we refunded €28\.00 to your payment method\./);
    assert.match(mail.text ?? "", /Refunded by the shop \(dana\): arrived damaged/);
    // Nothing else is undone: the units stay sold and reserved by the shipped order.
    assert.equal(Number((await q("SELECT stock FROM products WHERE sku = 'MUG-QUAY'"))[0].stock), stockShipped);
    assert.deepEqual(await q("SELECT status FROM stock_reservations WHERE order_id = $1", [orderId]), [{ status: "reserved" }]);
  });

  it("refuses a second refund, an order not fulfilled, and an unknown order, with the reason", async () => {
    const orderId = await fulfilled(`${name}-twice@example.com`, "KNOT-BOOK", 1);
    assert.equal((await refunds.refund(orderId, OPERATOR, uuidv7())).accepted, true);
    assert.deepEqual(await refunds.refund(orderId, OPERATOR, uuidv7()), {
      accepted: false,
      message: "This order has already been refunded.",
    });
    assert.deepEqual(await refunded(orderId), [1200]);

    const declined = await place(`${name}-declined@example.com`, fake ? HOSTED_PAYMENT : "pm_card_chargeDeclined", [
      { sku: "KNOT-BOOK", quantity: 1 },
    ]);
    if (fake) {
      // Declined on Stripe's page, then the page left to expire.
      const pay = checkoutDriver(() => fake!);
      await pay.payByCard(declined, CARD_DECLINED);
      fake.expire((await pay.sessionOf(declined)).id);
    }
    assert.equal((await result(declined)).outcome, "rejected");
    assert.deepEqual(await refunds.refund(declined, OPERATOR, uuidv7()), {
      accepted: false,
      message: "Only a fulfilled order can be refunded; this one is rejected.",
    });
    const waiting = await place(`${name}-waiting@example.com`, fake ? HOSTED_PAYMENT : "pm_card_visa", [
      { sku: "LAMP-HARBOUR", quantity: 2 },
    ]);
    if (fake) await checkoutDriver(() => fake!).payByCard(waiting);
    await waitForStep(waiting, "awaiting_approval");
    assert.deepEqual(await refunds.refund(waiting, OPERATOR, uuidv7()), {
      accepted: false,
      message: "Only a fulfilled order can be refunded; this one is awaiting approval.",
    });
    assert.deepEqual(await refunded(waiting), []);
    assert.deepEqual(await refunds.refund(uuidv7(), OPERATOR, uuidv7()), { accepted: false, message: "There is no such order." });
    await waitUntil("the refund email", () => refundEmails(`${name}-twice@example.com`)[0]);
    await emailsSettled();
    assert.equal(refundEmails(`${name}-twice@example.com`).length, 1);
    assert.equal(refundEmails(`${name}-declined@example.com`).length, 0);
  });

  it("a double submit (same request id, at once) is one invocation: one refund, one email, one event", async () => {
    const orderId = await fulfilled(`${name}-double@example.com`, "ROPE-COASTER", 1);
    const requestId = uuidv7();
    const answers = await Promise.all([
      refunds.refund(orderId, OPERATOR, requestId),
      refunds.refund(orderId, OPERATOR, requestId),
      refunds.refund(orderId, OPERATOR, requestId),
    ]);
    assert.deepEqual(
      answers.map((a) => a.accepted),
      [true, true, true],
    );
    assert.deepEqual(await refunded(orderId), [1800]);
    assert.equal((await timeline(orderId)).filter((e) => e.step === "refunded").length, 1);
    await waitUntil("the refund email", () => refundEmails(`${name}-double@example.com`)[0]);
    await emailsSettled();
    assert.equal(refundEmails(`${name}-double@example.com`).length, 1);
  });

  return {
    stack: () => stack,
    fake: () => fake,
    helpers: { q, fulfilled, refunded, timeline, refundEmails, lockRow, blockedOn, emailsSettled },
    refunds: () => refunds,
  };
}

describe("refund by an operator (local payments)", () => {
  const s = refundSuite("order-refund", () => Promise.resolve({ env: { PAYMENT_LATENCY_MS: "0" } }));

  it("a worker SIGKILLed the moment the refund is written: after the restart, still one refund and one email", async () => {
    const { q, fulfilled, refunded, timeline, refundEmails, lockRow, blockedOn, emailsSettled } = s.helpers;
    const orderId = await fulfilled("refund-crash@example.com", "MAP-PRINT", 1);
    // The refund's INSERT checks its reference to the order's row at its end: with that row held,
    // the statement has written the refund and waits, inside the step, before Restate journals it.
    const orderRow = await lockRow("SELECT 1 FROM orders WHERE id = $1 FOR UPDATE", [orderId]);
    let answer: ReturnType<ReturnType<typeof s.refunds>["refund"]>;
    try {
      answer = s.refunds().refund(orderId, OPERATOR, uuidv7());
      await blockedOn("INSERT INTO payments");
      await s.stack().worker?.kill();
    } finally {
      await orderRow.release();
    }
    // The killed worker's statement goes on without it: the refund is in the ledger, unjournalled.
    await waitUntil("the refund row", async () => (await refunded(orderId)).length > 0);
    await s.stack().startWorker();
    assert.equal((await answer).accepted, true);
    assert.deepEqual(await refunded(orderId), [3200]);
    assert.equal((await q("SELECT status FROM orders WHERE id = $1", [orderId]))[0].status, "refunded");
    assert.equal((await timeline(orderId)).filter((e) => e.step === "refunded").length, 1);
    await waitUntil("the refund email", () => refundEmails("refund-crash@example.com")[0]);
    await emailsSettled();
    assert.equal(refundEmails("refund-crash@example.com").length, 1);
  });
});

describe("refund by an operator (Stripe)", () => {
  const s = refundSuite("order-refund-stripe", async () => {
    const fake = await startFakeStripe();
    // A pending refund's first check a second after it is made (an hour in production).
    return { fake, env: { ...stripeEnv(fake), REFUND_CHECK_INTERVAL_MS: "1000" } };
  });
  const keyed = (orderId: string) => s.fake()?.requests.filter((r) => r.idempotencyKey === `order:${orderId}:refund`) ?? [];

  it("a lost answer from Stripe is retried with the same key: one refund", async () => {
    const { fulfilled, refunded } = s.helpers;
    const orderId = await fulfilled("stripe-refund-lost@example.com", "TEE-ANCHOR", 1);
    s.fake()?.failNext("refund", { kind: "drop_after" }, 2);
    assert.equal((await s.refunds().refund(orderId, OPERATOR, uuidv7())).accepted, true);
    assert.deepEqual(await refunded(orderId), [2500]);
    assert.ok(keyed(orderId).length >= 3, "retried with the order's refund key");
    assert.ok(keyed(orderId).at(-1)?.replayed, "the retry was answered from Stripe's idempotency store");
  });

  it("a worker killed between the refund at Stripe and its journal entry: one refund after the restart", async () => {
    const { fulfilled, refunded, refundEmails, emailsSettled } = s.helpers;
    const orderId = await fulfilled("stripe-refund-crash@example.com", "TEE-ANCHOR", 1);
    // Stripe makes the refund and holds its answer until the worker is dead.
    let release = () => {};
    s.fake()?.failNext("refund", { kind: "hold_after", delayMs: 0, until: new Promise<void>((r) => (release = r)) });
    let answer: ReturnType<ReturnType<typeof s.refunds>["refund"]>;
    try {
      answer = s.refunds().refund(orderId, OPERATOR, uuidv7());
      await waitUntil("the refund at Stripe", () => s.fake()?.ledgerOf(orderId).refunds.length === 1);
      assert.ok(s.fake()?.handling(`order:${orderId}:refund`), "its answer is still held");
      await s.stack().worker?.kill();
    } finally {
      release();
    }
    await s.stack().startWorker();
    assert.equal((await answer).accepted, true);
    assert.deepEqual(await refunded(orderId), [2500]);
    await waitUntil("the refund email", () => refundEmails("stripe-refund-crash@example.com")[0]);
    await emailsSettled();
    assert.equal(refundEmails("stripe-refund-crash@example.com").length, 1);
  });

  const orderRow = async (orderId: string) =>
    (await s.helpers.q("SELECT status, status_reason FROM orders WHERE id = $1", [orderId]))[0] as
      { status: string; status_reason: string | null } | undefined;
  /**
   * The order's row says `status` and its OrderRefund object has nothing left to run (a pending
   * check waiting for its time aside): the row is written before the event, so the timeline is
   * read only once the handler that wrote the row has ended.
   */
  const statusBecomes = (orderId: string, status: string) =>
    waitUntil(`order ${orderId} ${status}, its after-sale handler done`, async () => {
      if ((await orderRow(orderId))?.status !== status) return false;
      const [row] = await restateSql(
        s.stack().services.restate.adminUrl,
        `SELECT count(*) AS n FROM sys_invocation WHERE target_service_name = 'OrderRefund' ` +
          `AND target_service_key = '${orderId}' AND status NOT IN ('completed', 'scheduled')`,
      );
      return Number(row?.n ?? 0) === 0;
    });
  const paymentOf = (orderId: string) => {
    const pi = s.fake()?.ledgerOf(orderId).paymentIntents[0];
    assert.ok(pi, "the order's PaymentIntent");
    return pi.id;
  };

  it("a pending refund says so until Stripe settles it; a failed one reaches the operators and is made again with a new key", async () => {
    const { fulfilled, timeline, refundEmails, emailsSettled, q } = s.helpers;
    const fake = s.fake()!;
    const email = "stripe-refund-pending@example.com";
    const orderId = await fulfilled(email, "TEE-ANCHOR", 1);

    fake.queueRefundOutcome("pending");
    assert.deepEqual(await s.refunds().refund(orderId, OPERATOR, uuidv7()), {
      accepted: true,
      message: "Refund of €25.00 made; the bank has not confirmed it yet.",
    });
    assert.equal((await orderRow(orderId))?.status, "refund_pending");
    assert.equal((await timeline(orderId)).at(-1)?.step, "refund_pending");
    const first = fake.ledgerOf(orderId).refunds[0]!;
    fake.settleRefund(first.id, "failed");
    await statusBecomes(orderId, "refund_failed");
    assert.match((await orderRow(orderId))?.status_reason ?? "", /^The refund failed at the bank \(expired or canceled card\)/);
    assert.equal((await timeline(orderId)).at(-1)?.step, "refund_failed");
    await emailsSettled();
    assert.equal(refundEmails(email).length, 0, "no refund email for a refund that did not happen");

    fake.queueRefundOutcome("pending");
    assert.equal((await s.refunds().refund(orderId, OPERATOR, uuidv7())).accepted, true);
    const second = fake.ledgerOf(orderId).refunds.find((r) => r.id !== first.id);
    assert.ok(second, "a second refund at Stripe");
    assert.ok(
      fake.requests.some((r) => r.idempotencyKey === `order:${orderId}:refund:${first.id}`),
      "under a key of its own",
    );
    fake.settleRefund(second.id, "succeeded");
    await statusBecomes(orderId, "refunded");
    assert.deepEqual(
      (await q("SELECT provider_ref, status FROM order_refunds WHERE order_id = $1", [orderId])).map((r) => ({ ...r })),
      [{ provider_ref: second.id, status: "succeeded" }],
    );
    assert.deepEqual((await timeline(orderId)).map((e) => e.step).slice(-5), [
      "fulfilled",
      "refund_pending",
      "refund_failed",
      "refund_pending",
      "refunded",
    ]);
    await waitUntil("the refund email", () => refundEmails(email)[0]);
    await emailsSettled();
    assert.equal(refundEmails(email).length, 1);
  });

  it("a pending refund whose webhooks never come is settled by the order's own check", async () => {
    const { fulfilled, timeline } = s.helpers;
    const fake = s.fake()!;
    const orderId = await fulfilled("stripe-refund-quiet@example.com", "TEE-ANCHOR", 1);
    fake.queueRefundOutcome("pending");
    assert.equal((await s.refunds().refund(orderId, OPERATOR, uuidv7())).accepted, true);
    fake.webhookFault("refund.updated", { kind: "drop" });
    fake.webhookFault("charge.refunded", { kind: "drop" });
    fake.settleRefund(fake.ledgerOf(orderId).refunds[0]!.id, "succeeded");
    await statusBecomes(orderId, "refunded");
    assert.equal((await timeline(orderId)).filter((e) => e.step === "refunded").length, 1);
  });

  it("a refund made in Stripe's dashboard, delivered three times, refunds the order once: row, timeline, one email", async () => {
    const { fulfilled, timeline, refundEmails, emailsSettled, q } = s.helpers;
    const fake = s.fake()!;
    const email = "stripe-dashboard-refund@example.com";
    const orderId = await fulfilled(email, "TEE-ANCHOR", 1);
    fake.webhookFault("charge.refunded", { kind: "duplicate", copies: 3 });
    fake.dashboardRefund(paymentOf(orderId));
    await statusBecomes(orderId, "refunded");
    assert.equal((await orderRow(orderId))?.status_reason, "Refunded in Stripe's dashboard: €25.00");
    assert.deepEqual(
      (await q("SELECT amount_cents, operator, status FROM order_refunds WHERE order_id = $1", [orderId])).map((r) => ({ ...r })),
      [{ amount_cents: 2500, operator: "Stripe dashboard", status: "succeeded" }],
    );
    await fake.webhooksIdle();
    assert.equal((await timeline(orderId)).filter((e) => e.step === "refunded").length, 1);
    await waitUntil("the refund email", () => refundEmails(email)[0]);
    await emailsSettled();
    assert.equal(refundEmails(email).length, 1);
    // The shop cannot refund it again.
    assert.equal((await s.refunds().refund(orderId, OPERATOR, uuidv7())).accepted, false);
  });

  it("a dispute reaches the order's status and timeline; won, the order is fulfilled again", async () => {
    const { fulfilled, timeline } = s.helpers;
    const fake = s.fake()!;
    const orderId = await fulfilled("stripe-dispute@example.com", "TEE-ANCHOR", 1);
    const dispute = fake.dispute(paymentOf(orderId));
    await statusBecomes(orderId, "disputed");
    assert.match((await orderRow(orderId))?.status_reason ?? "", /^Disputed by the card holder's bank \(fraudulent, €25\.00\)/);
    assert.equal((await timeline(orderId)).at(-1)?.step, "disputed");
    assert.equal((await s.refunds().refund(orderId, OPERATOR, uuidv7())).accepted, false, "a disputed payment is not refunded");
    fake.closeDispute(dispute.id, "won");
    await statusBecomes(orderId, "fulfilled");
    assert.equal((await orderRow(orderId))?.status_reason, "Dispute won: the bank kept the payment with the shop.");
    assert.equal((await timeline(orderId)).at(-1)?.step, "fulfilled");
  });
});
