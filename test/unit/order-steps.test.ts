import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { orderStatusSchema } from "../../shared/order.schema.ts";
import {
  isCancellable,
  isRefundable,
  isShippedOrEnded,
  orderSteps,
  progressOfStatus,
  refundableStatuses,
} from "../../shared/order-steps.ts";

describe("isShippedOrEnded", () => {
  it("holds once the order shipped, and for every ending", () => {
    assert.equal(isShippedOrEnded(orderSteps.shipped), true);
    assert.equal(isShippedOrEnded(orderSteps.fulfilled), true);
    for (const ended of ["rejected", "cancelled", "failed", "refunded", "disputed"] as const) {
      assert.equal(isShippedOrEnded(progressOfStatus[ended]), true, ended);
    }
  });

  it("does not hold while the order is on its way to shipping, waits included", () => {
    for (const d of [orderSteps.received, orderSteps.awaitingPayment, orderSteps.awaitingApproval, orderSteps.confirmed]) {
      assert.equal(isShippedOrEnded(d), false, d.step);
    }
    assert.equal(isShippedOrEnded({ step: "queued", status: "queued" }), false);
  });

  it("is what a cancel is refused on", () => {
    for (const d of Object.values(orderSteps)) assert.equal(isCancellable(d), !isShippedOrEnded(d), d.step);
  });
});

describe("refundableStatuses", () => {
  it("are a fulfilled order and one whose last refund the bank refused", () => {
    assert.deepEqual([...refundableStatuses], ["fulfilled", "refund_failed"]);
  });

  it("are what isRefundable says of a status read as text", () => {
    for (const status of orderStatusSchema.options) assert.equal(isRefundable(status), refundableStatuses.has(status), status);
    assert.equal(isRefundable("not a status"), false);
  });
});
