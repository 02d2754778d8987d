/**
 * The order saga under real failures: declined and flaky cards, approval (approve, reject,
 * timeout), customer cancel before and after shipping, the last units of a SKU under concurrency,
 * and crashes: the worker SIGKILLed after the charge, restate-server restarted during shipping.
 * Approvals and shipping wait a day, so an order stays where a test needs it until the test moves
 * it on (approves it, ships it now, cancels it); only the timeout test's worker times out quickly.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createOrdersClient } from "../web/adapters/orders-client.ts";
import { TEST_CALL_TIMEOUT_MS } from "./helpers/call-timeout.ts";
import { waitUntil } from "./helpers/browser-client.ts";
import { orderDriver } from "./helpers/order-driver.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";

const DAY_MS = "86400000";

describe("order saga", () => {
  let stack: TestStack;
  let orders: ReturnType<typeof createOrdersClient>;

  before(async () => {
    stack = await startTestStack("order-saga", {
      env: { APPROVAL_THRESHOLD_CENTS: "15000", APPROVAL_TIMEOUT_MS: DAY_MS, SHIPPING_DELAY_MS: DAY_MS },
    });
    orders = createOrdersClient({ ingressUrl: stack.services.restate.ingressUrl, timeoutMs: TEST_CALL_TIMEOUT_MS });
  });
  after(async () => {
    await stack?.stop();
  });

  const { q, mailsTo, result, place, waitForStep, shipNow, lockRow, blockedOn, withWorkerEnv, emailsSettled } = orderDriver(
    () => stack,
    () => orders,
  );
  const stockOf = async (sku: string) => Number((await q("SELECT stock FROM products WHERE sku = $1", [sku]))[0].stock);

  it("a declined card rejects the order: nothing stays reserved, nothing charged, one cancellation email", async () => {
    const before = await stockOf("TEE-ANCHOR");
    const orderId = await place("declined@example.com", "pm_card_chargeDeclined", [{ sku: "TEE-ANCHOR", quantity: 2 }]);
    assert.deepEqual(await result(orderId), { orderId, outcome: "rejected", reason: "Your card was declined" });
    assert.equal(await stockOf("TEE-ANCHOR"), before);
    assert.deepEqual(await q("SELECT status FROM stock_reservations WHERE order_id = $1", [orderId]), [{ status: "released" }]);
    assert.deepEqual(await q("SELECT kind, status FROM payments WHERE order_id = $1", [orderId]), [
      { kind: "charge", status: "declined" },
    ]);
    const mails = await waitUntil("the cancellation email", () =>
      mailsTo("declined@example.com").length > 0 ? mailsTo("declined@example.com") : null,
    );
    await emailsSettled();
    assert.deepEqual(
      mailsTo("declined@example.com").map((m) => m.subject),
      [`Order cancelled: ${orderId.slice(-12)}`],
    );
    assert.match(mails[0]?.text ?? "", /Your card was declined/);
    assert.match(mails[0]?.text ?? "", /You were not charged/);
    const status = await orders.status(orderId);
    assert.equal(status.status, "failed");
    assert.equal(status.step, "rejected");
  });

  it("a card that fails transiently is retried until it succeeds, and charged once", async () => {
    const orderId = await place("flaky@example.com", "pm_card_flaky", [{ sku: "KNOT-BOOK", quantity: 1 }]);
    await shipNow(orderId);
    assert.equal((await result(orderId)).outcome, "fulfilled");
    assert.deepEqual(await q("SELECT kind, status FROM payments WHERE order_id = $1", [orderId]), [
      { kind: "charge", status: "succeeded" },
    ]);
    assert.deepEqual(await q("SELECT attempts FROM payment_attempts WHERE idempotency_key = $1", [`order:${orderId}:charge`]), [
      { attempts: 3 },
    ]);
  });

  it("a charge whose record PostgreSQL refuses is kept: the order waits for the record, charged once", async () => {
    const email = "record-refused@example.com";
    // A trigger refuses the order's confirmed status and counts each refusal (a sequence: its
    // count survives the refused statement's rollback) until the test drops it.
    await q(`CREATE SEQUENCE confirm_refusals`);
    await q(`CREATE FUNCTION refuse_confirm() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.status = 'confirmed' AND NEW.email = '${email}' THEN
          PERFORM nextval('confirm_refusals');
          RAISE EXCEPTION 'the test refuses this order''s confirmation';
        END IF;
        RETURN NEW;
      END $$`);
    await q(`CREATE TRIGGER refuse_confirm BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION refuse_confirm()`);
    // The payment step's whole budget is two attempts here: a worker that retried the record
    // inside it would have failed the order (the money kept, nothing refunded) by the second
    // refusal. More refusals than that are the record's own step, which waits for PostgreSQL.
    const orderId = await withWorkerEnv({ PAYMENT_RETRY_LIMIT: "2" }, async () => {
      try {
        const id = await place(email, "pm_card_visa", [{ sku: "KNOT-BOOK", quantity: 1 }]);
        await waitUntil("four refused records", async () => {
          const [r] = await q("SELECT last_value, is_called FROM confirm_refusals");
          return r.is_called && Number(r.last_value) >= 4;
        });
        return id;
      } finally {
        await q(`DROP TRIGGER refuse_confirm ON orders`);
        await q(`DROP FUNCTION refuse_confirm()`);
        await q(`DROP SEQUENCE confirm_refusals`);
      }
    });
    await shipNow(orderId);
    assert.equal((await result(orderId)).outcome, "fulfilled");
    assert.deepEqual(await q("SELECT kind, status FROM payments WHERE order_id = $1", [orderId]), [
      { kind: "charge", status: "succeeded" },
    ]);
    await emailsSettled();
    assert.equal(mailsTo(email).filter((m) => m.subject.startsWith("Order confirmed")).length, 1);
  });

  it("an approval and a ship now that arrive before their waits are kept: the order goes through without waiting a day", async () => {
    // Sent at once after placing: the workflow has not reached either wait yet (or only just).
    const orderId = await place("early@example.com", "pm_card_visa", [{ sku: "LAMP-HARBOUR", quantity: 2 }]);
    assert.deepEqual(await orders.control(orderId, "approve", "", "tess"), { accepted: true, message: "Order approved." });
    assert.deepEqual(await orders.control(orderId, "dispatch", "", "tess"), { accepted: true, message: "Shipping now." });
    assert.equal((await result(orderId)).outcome, "fulfilled");
    assert.equal((await q("SELECT approval_decided_by FROM orders WHERE id = $1", [orderId]))[0].approval_decided_by, "tess");
  });

  it("a large order waits for approval, and an operator's approval lets it through", async () => {
    const orderId = await place("big@example.com", "pm_card_visa", [{ sku: "LAMP-HARBOUR", quantity: 2 }]);
    await waitForStep(orderId, "awaiting_approval");
    const waiting = await orders.status(orderId);
    assert.equal(waiting.status, "waiting");
    assert.equal(waiting.message, "Awaiting approval");
    assert.equal((await q("SELECT status FROM orders WHERE id = $1", [orderId]))[0].status, "awaiting_approval");
    assert.deepEqual(await orders.control(orderId, "approve"), { accepted: true, message: "Order approved." });
    // Refused either way: while the workflow records the decision, or after it moved on.
    const again = await orders.control(orderId, "approve");
    assert.equal(again.accepted, false);
    assert.match(again.message, /^This order (was already decided|is not waiting for approval)\.$/);
    await shipNow(orderId);
    assert.equal((await result(orderId)).outcome, "fulfilled");
    assert.equal((await q("SELECT approval_decision FROM orders WHERE id = $1", [orderId]))[0].approval_decision, "approved");
    assert.deepEqual(await q("SELECT kind, status FROM payments WHERE order_id = $1", [orderId]), [
      { kind: "charge", status: "succeeded" },
    ]);
  });

  it("an operator's rejection releases the card's hold (nothing was taken), releases stock and tells the customer", async () => {
    const before = await stockOf("LAMP-HARBOUR");
    const orderId = await place("rejected@example.com", "pm_card_visa", [{ sku: "LAMP-HARBOUR", quantity: 2 }]);
    await waitForStep(orderId, "awaiting_approval");
    assert.equal(await stockOf("LAMP-HARBOUR"), before - 2);
    assert.deepEqual(await q("SELECT kind, status FROM payments WHERE order_id = $1", [orderId]), [
      { kind: "charge", status: "authorized" },
    ]);
    assert.equal((await orders.status(orderId)).message, "Awaiting approval");
    assert.equal((await orders.control(orderId, "reject", "not approved")).accepted, true);
    assert.deepEqual(await result(orderId), { orderId, outcome: "rejected", reason: "Rejected by an operator: not approved" });
    assert.equal(await stockOf("LAMP-HARBOUR"), before);
    const ledger = await q("SELECT kind, status, amount_cents FROM payments WHERE order_id = $1 ORDER BY id", [orderId]);
    assert.deepEqual(ledger, [{ kind: "charge", status: "canceled", amount_cents: 17800 }]);
    const mail = await waitUntil("the cancellation email", () => mailsTo("rejected@example.com")[0]);
    assert.match(mail.text ?? "", /You were not charged/);
  });

  it("an order nobody approves in time is rejected automatically, and its hold released", async () => {
    // Only this test's worker times approvals out quickly: nothing else waits for approval meanwhile.
    const orderId = await withWorkerEnv({ APPROVAL_TIMEOUT_MS: "200" }, async () => {
      const id = await place("timeout@example.com", "pm_card_visa", [{ sku: "LAMP-HARBOUR", quantity: 2 }]);
      assert.deepEqual(await result(id), { orderId: id, outcome: "rejected", reason: "No operator approved the order in time" });
      return id;
    });
    assert.equal((await q("SELECT approval_decision FROM orders WHERE id = $1", [orderId]))[0].approval_decision, "timed_out");
    assert.deepEqual(await q("SELECT kind, status FROM payments WHERE order_id = $1", [orderId]), [
      { kind: "charge", status: "canceled" },
    ]);
  });

  it("the customer can cancel before shipping (refund, stock back) but not after", async () => {
    const before = await stockOf("MUG-QUAY");
    const orderId = await place("cancel@example.com", "pm_card_visa", [{ sku: "MUG-QUAY", quantity: 1 }]);
    await waitForStep(orderId, "confirmed");
    assert.deepEqual(await orders.control(orderId, "cancel", "changed my mind"), {
      accepted: true,
      message: "Cancellation requested.",
    });
    assert.deepEqual(await result(orderId), { orderId, outcome: "cancelled", reason: "changed my mind" });
    assert.equal(await stockOf("MUG-QUAY"), before);
    assert.equal((await q("SELECT status FROM orders WHERE id = $1", [orderId]))[0].status, "cancelled");
    assert.equal((await q("SELECT count(*)::int AS n FROM payments WHERE order_id = $1 AND kind = 'refund'", [orderId]))[0].n, 1);
    assert.equal((await orders.status(orderId)).status, "cancelled");

    const shipped = await place("late@example.com", "pm_card_visa", [{ sku: "MUG-QUAY", quantity: 1 }]);
    await shipNow(shipped);
    assert.equal((await result(shipped)).outcome, "fulfilled");
    const refused = await orders.control(shipped, "cancel");
    assert.equal(refused.accepted, false);
    assert.match(refused.message, /already shipped/);
    assert.equal((await q("SELECT status FROM orders WHERE id = $1", [shipped]))[0].status, "fulfilled");
  });

  it('a cancel written while "ship now" is under way wins: the order\'s row decides, not who read a promise first', async () => {
    // The cancel's statement first in the row's queue, the ship step's behind it: the order does not ship.
    const cancelled = await place("race-cancel@example.com", "pm_card_visa", [{ sku: "MUG-QUAY", quantity: 1 }]);
    await waitForStep(cancelled, "confirmed");
    const row = await lockRow("SELECT 1 FROM orders WHERE id = $1 FOR NO KEY UPDATE", [cancelled]);
    try {
      const cancelling = orders.control(cancelled, "cancel", "changed my mind");
      await blockedOn("UPDATE orders SET cancel_requested_at");
      // The cancel promise is not resolved yet, so "ship now" is taken and the order goes to ship.
      assert.equal((await orders.control(cancelled, "dispatch")).accepted, true);
      await blockedOn("UPDATE orders SET status = 'fulfilled'");
      await row.release();
      assert.equal((await cancelling).accepted, true);
    } finally {
      await row.release();
    }
    assert.deepEqual(await result(cancelled), { orderId: cancelled, outcome: "cancelled", reason: "changed my mind" });
    assert.equal(
      (await q("SELECT count(*)::int AS n FROM payments WHERE order_id = $1 AND kind = 'refund'", [cancelled]))[0].n,
      1,
    );
  });

  it("20 concurrent orders for the last 5 units: exactly 5 are fulfilled and stock ends at 0", async () => {
    await q("INSERT INTO products (sku, name, price_cents, stock) VALUES ('LAST-FIVE', 'Last five', 500, 5)");
    const ids = await Promise.all(
      Array.from({ length: 20 }, (_, i) => place(`race${i}@example.com`, "pm_card_visa", [{ sku: "LAST-FIVE", quantity: 1 }])),
    );
    // Ship each order that got its unit; the others are rejected for want of stock.
    const outcomes = await Promise.all(
      ids.map(async (id) => {
        const at = await waitUntil("the order confirmed or ended", async () => {
          const s = await orders.status(id);
          return s.step === "confirmed" || s.step === "rejected" ? s.step : null;
        });
        if (at === "confirmed") assert.equal((await orders.control(id, "dispatch")).accepted, true);
        return result(id);
      }),
    );
    assert.equal(outcomes.filter((o) => o.outcome === "fulfilled").length, 5);
    assert.equal(outcomes.filter((o) => o.outcome === "rejected" && o.reason === "Out of stock: Last five").length, 15);
    assert.equal(await stockOf("LAST-FIVE"), 0);
    const held = await q("SELECT count(*)::int AS n FROM stock_reservations WHERE sku = 'LAST-FIVE' AND status = 'reserved'");
    assert.equal(held[0].n, 5);
    const charges = await q(
      "SELECT count(*)::int AS n FROM payments p JOIN order_lines l USING (order_id) WHERE l.sku = 'LAST-FIVE' AND p.kind = 'charge'",
    );
    assert.equal(charges[0].n, 5, "rejected orders were never charged");
  });

  /**
   * The confirmation email, then "ship now", then the shipped email: a second confirmation would be
   * sent before the order ships, so once the shipped email is in, there was one or there are two.
   */
  async function oneConfirmationThenShipped(orderId: string, email: string) {
    const confirmations = () => mailsTo(email).filter((m) => m.subject.startsWith("Order confirmed"));
    await waitUntil("the confirmation email", () => confirmations().length > 0);
    await shipNow(orderId);
    assert.equal((await result(orderId)).outcome, "fulfilled");
    await waitUntil("the shipped email", () => mailsTo(email).find((m) => m.subject.startsWith("Order shipped")));
    assert.equal(confirmations().length, 1);
  }

  it("survives a worker SIGKILL between the charge and the email: one charge, one confirmation", async () => {
    const orderId = await place("crash@example.com", "pm_card_visa", [{ sku: "LAMP-HARBOUR", quantity: 2 }]);
    // The approval wait holds the order exactly between its charge and its confirmation email.
    await waitForStep(orderId, "awaiting_approval");
    assert.equal((await q("SELECT count(*)::int AS n FROM payments WHERE order_id = $1", [orderId]))[0].n, 1);
    await stack.worker?.kill();
    await stack.startWorker();
    assert.equal((await orders.control(orderId, "approve")).accepted, true);
    await oneConfirmationThenShipped(orderId, "crash@example.com");
    assert.deepEqual(await q("SELECT kind, status FROM payments WHERE order_id = $1", [orderId]), [
      { kind: "charge", status: "succeeded" },
    ]);
  });

  /**
   * Stops an order's first step after the charge is written and before Restate journals the step:
   * the order's row, once stored, is held so that the step's next write (the confirmed status)
   * waits. To get hold of the row between its insert and that write, the product's row holds the
   * order's statement until a payment attempt of the test's own (a flaky card's counter, left at
   * its last failure) holds the charge; the order's row is then locked and the charge let through.
   */
  async function holdAfterCharge(email: string, sku: string) {
    const product = await lockRow("SELECT 1 FROM products WHERE sku = $1 FOR NO KEY UPDATE", [sku]);
    try {
      const orderId = await place(email, "pm_card_flaky", [{ sku, quantity: 1 }]);
      await blockedOn("INSERT INTO orders (id");
      const attempt = await lockRow(
        "INSERT INTO payment_attempts (idempotency_key, attempts) VALUES ($1, 2) RETURNING 1",
        [`order:${orderId}:charge`],
        { commit: true },
      );
      try {
        await product.release();
        await blockedOn("INSERT INTO payment_attempts");
        const orderRow = await lockRow("SELECT 1 FROM orders WHERE id = $1 FOR NO KEY UPDATE", [orderId]);
        await attempt.release();
        await blockedOn("UPDATE orders SET status = 'confirmed'");
        assert.deepEqual(await q("SELECT kind, status FROM payments WHERE order_id = $1", [orderId]), [
          { kind: "charge", status: "succeeded" },
        ]);
        return { orderId, orderRow };
      } finally {
        await attempt.release();
      }
    } finally {
      await product.release();
    }
  }

  it("survives a worker SIGKILL the moment the charge is written", async () => {
    const { orderId, orderRow } = await holdAfterCharge("crash2@example.com", "ROPE-COASTER");
    try {
      await stack.worker?.kill();
    } finally {
      await orderRow.release();
    }
    await stack.startWorker();
    await oneConfirmationThenShipped(orderId, "crash2@example.com");
    assert.equal((await q("SELECT count(*)::int AS n FROM payments WHERE order_id = $1", [orderId]))[0].n, 1);
  });

  it("a cancel between the charge and its journal entry, then a crash: the retried step keeps the charge and the cancel refunds it", async () => {
    const { orderId, orderRow } = await holdAfterCharge("crash3@example.com", "ROPE-COASTER");
    let cancelling: ReturnType<typeof orders.control> | undefined;
    try {
      // The cancel's write queues behind the step's on the order's row; the worker dies with both
      // waiting, and PostgreSQL carries out both once the row is free: the charge's status first.
      cancelling = orders.control(orderId, "cancel", "changed my mind");
      await blockedOn("cancel_requested_at = COALESCE");
      await stack.worker?.kill();
    } finally {
      await orderRow.release();
    }
    await waitUntil("the cancel on the order's row", async () => {
      const [row] = await q("SELECT status, cancel_requested_at IS NOT NULL AS asked FROM orders WHERE id = $1", [orderId]);
      return row.status === "confirmed" && row.asked;
    });
    await stack.startWorker();
    assert.equal((await cancelling).accepted, true);
    assert.deepEqual(await result(orderId), { orderId, outcome: "cancelled", reason: "changed my mind" });
    assert.deepEqual(await q("SELECT kind, status FROM payments WHERE order_id = $1 ORDER BY kind", [orderId]), [
      { kind: "charge", status: "succeeded" },
      { kind: "refund", status: "succeeded" },
    ]);
    const status = await orders.status(orderId);
    assert.equal(status.status, "cancelled", "the terminal event follows the events the first attempt published");
    assert.equal(
      (await q("SELECT count(*)::int AS n FROM stock_reservations WHERE order_id = $1 AND status = 'reserved'", [orderId]))[0].n,
      0,
    );
  });

  it("completes when restate-server restarts during the shipping sleep", async () => {
    const orderId = await place("restart@example.com", "pm_card_visa", [{ sku: "MAP-PRINT", quantity: 1 }]);
    await waitForStep(orderId, "confirmed");
    await stack.restartRestate({ kill: true });
    orders = createOrdersClient({ ingressUrl: stack.services.restate.ingressUrl, timeoutMs: TEST_CALL_TIMEOUT_MS });
    // The restart fell inside the day-long sleep: the order is still waiting to ship.
    assert.equal((await orders.status(orderId)).step, "confirmed");
    assert.equal((await q("SELECT status FROM orders WHERE id = $1", [orderId]))[0].status, "confirmed");
    await shipNow(orderId);
    assert.equal((await result(orderId)).outcome, "fulfilled");
    assert.equal((await q("SELECT status FROM orders WHERE id = $1", [orderId]))[0].status, "fulfilled");
    await waitUntil("the shipped email", () => mailsTo("restart@example.com").find((m) => m.subject.startsWith("Order shipped")));
  });
});
