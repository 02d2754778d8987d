import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { OrderRecord } from "../../shared/order-read.ts";
import { isOrderSettled, orderSteps } from "../../shared/order-steps.ts";
import type { ProgressSnapshot } from "../../shared/progress-event.ts";
import { rowIsAhead } from "../../web/progress/order-snapshot.ts";
import { progressPanel, refundLine, withRefundFromRow } from "../../web/views/order-page.view.ts";
import { REFUND_SEQ_FLOOR, refundSeq } from "../../worker/order-refund-steps.ts";

function snapshot(patch: Partial<ProgressSnapshot> = {}): ProgressSnapshot {
  return {
    seq: 9,
    step: "cancelled",
    percent: 100,
    status: "cancelled",
    message: "Cancelled by the shop (noor)",
    at: "2025-01-02T03:04:05.000Z",
    invocationId: null,
    ...patch,
  };
}

const order: OrderRecord = {
  id: "0190a3b4-0000-7000-8000-16de18df8e54",
  email: "a@example.com",
  paymentMethod: "pm_card_visa",
  totalCents: 2400,
  currency: "EUR",
  status: "refunded",
  statusReason: "Refunded by the shop (noor): a page was missing",
  invocationId: null,
  createdAt: "2025-01-02T03:00:00.000Z",
  lines: [],
};

describe("the refund on an order's page", () => {
  it("says how much was refunded, in the order's currency", () => {
    const line = refundLine(snapshot({ data: { refundedCents: 2400, currency: "EUR" } }));
    assert.match(line === "" ? "" : line.value, />We refunded €24\.00 to your card\.</);
    const panel = progressPanel(snapshot({ data: { refundedCents: 1850, currency: "GBP" } }), undefined).value;
    assert.match(panel, /We refunded £18\.50 to your card\./);
  });

  it("says nothing when nothing was charged, or the currency is unknown", () => {
    assert.equal(refundLine(snapshot({ data: { refundedCents: 0, currency: "EUR" } })), "");
    assert.equal(refundLine(snapshot({ data: { refundedCents: 2400 } })), "");
    assert.equal(refundLine(snapshot({ data: { refundedCents: 2400, currency: "<b>" } })), "");
    assert.equal(refundLine(snapshot()), "");
  });

  it("takes the currency from the row, and a refund the stream lost from the refunded row", () => {
    const noCurrency = withRefundFromRow(snapshot({ data: { refundedCents: 2400 } }), { ...order, status: "cancelled" });
    assert.deepEqual(noCurrency.data, { refundedCents: 2400, currency: "EUR" });
    const fromRow = withRefundFromRow(snapshot({ step: "refunded", data: undefined }), order);
    assert.deepEqual(fromRow.data, { refundedCents: 2400, currency: "EUR" });
    const fulfilled = snapshot({ step: "fulfilled", status: "succeeded" });
    assert.equal(withRefundFromRow(fulfilled, { ...order, status: "fulfilled" }), fulfilled);
  });
});

describe("an order's stream after its workflow", () => {
  it("is settled at any end but fulfilled and the after-sale steps that may still move", () => {
    assert.equal(isOrderSettled({ step: "fulfilled", status: "succeeded" }), false);
    // A pending refund settles, a failed one may be made again, a dispute closes.
    for (const step of ["refund_pending", "refund_failed", "disputed"]) {
      const s = orderSteps[step === "refund_pending" ? "refundPending" : step === "refund_failed" ? "refundFailed" : "disputed"];
      assert.equal(s.kind, "terminal", `${step} ends the bar (no cancel button)`);
      assert.equal(isOrderSettled(s), false, step);
    }
    assert.equal(isOrderSettled({ step: "confirmed", status: "running" }), false);
    for (const step of ["refunded", "cancelled"]) assert.equal(isOrderSettled({ step, status: "cancelled" }), true);
    assert.equal(isOrderSettled({ step: "rejected", status: "failed" }), true);
  });

  it("numbers the refund after the newest event, or above any workflow's when the stream is gone", () => {
    assert.equal(refundSeq(9), 10);
    assert.equal(refundSeq(0), REFUND_SEQ_FLOOR);
    assert.ok(REFUND_SEQ_FLOOR > 100);
  });

  it("takes the row as ahead when it is after the sale and the stream ends elsewhere", () => {
    const at = (step: string, status: ProgressSnapshot["status"]) => snapshot({ step, status });
    assert.equal(rowIsAhead(at("refund_pending", "cancelled"), at("fulfilled", "succeeded")), true);
    assert.equal(rowIsAhead(at("refunded", "cancelled"), at("refund_pending", "cancelled")), true);
    assert.equal(rowIsAhead(at("disputed", "failed"), at("refunded", "cancelled")), true);
    assert.equal(rowIsAhead(at("refund_pending", "cancelled"), at("refund_pending", "cancelled")), false);
    // A dispute won puts the row back at fulfilled: the stream's "fulfilled" event says so too.
    assert.equal(rowIsAhead(at("fulfilled", "succeeded"), at("fulfilled", "succeeded")), false);
  });
});
