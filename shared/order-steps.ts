/**
 * The steps of an order as the customer sees them: the progress events the workflow publishes and
 * the snapshot the web derives from a stored row when there is no event to show. One table, read
 * by both, so the bar means the same thing wherever it is drawn.
 */
import { orderStatusSchema, type OrderStatus } from "./order.schema.ts";
import { isTerminal, type ProgressDraft, type ProgressSnapshot } from "./progress-event.ts";

export type OrderStepDraft = Omit<ProgressDraft, "seq">;

const step = (step: string, percent: number, message: string, status: ProgressDraft["status"] = "running"): OrderStepDraft => ({
  kind: "step",
  step,
  percent,
  status,
  message,
});

export const orderSteps = {
  received: step("received", 5, "Order received"),
  persisted: step("persisted", 15, "Order saved"),
  reserved: step("reserved", 30, "Stock reserved"),
  awaitingPayment: step("awaiting_payment", 35, "Waiting for payment on the secure payment page", "waiting"),
  paymentProcessing: step("payment_processing", 40, "Payment processing: your bank confirms it within a few days", "waiting"),
  paid: step("paid", 45, "Payment taken"),
  authorized: step("authorized", 45, "Payment authorised: the card is charged once the order is approved"),
  awaitingApproval: step("awaiting_approval", 50, "Awaiting approval", "waiting"),
  approved: step("approved", 60, "Approved"),
  confirmed: step("confirmed", 70, "Confirmed (email queued): preparing shipment"),
  shipped: step("shipped", 90, "Shipped"),
  fulfilled: { ...step("fulfilled", 100, "Order fulfilled", "succeeded"), kind: "terminal" },
  // After fulfilment, an operator's refund: published by the OrderRefund object after the order's last event.
  refunded: { ...step("refunded", 100, "Refunded by the shop", "cancelled"), kind: "terminal" },
  // What the payment provider says after that (OrderRefund's reconcile): each ends the bar again.
  refundPending: {
    ...step("refund_pending", 100, "Refund pending: your bank confirms it within a few days", "cancelled"),
    kind: "terminal",
  },
  refundFailed: {
    ...step("refund_failed", 100, "The refund did not go through: the shop will contact you", "succeeded"),
    kind: "terminal",
  },
  disputed: { ...step("disputed", 100, "The payment is disputed by the card holder's bank", "failed"), kind: "terminal" },
} satisfies Record<string, OrderStepDraft>;

type Shown = Pick<ProgressSnapshot, "percent" | "status" | "step" | "message">;
const shown = (d: OrderStepDraft): Shown => ({ percent: d.percent, status: d.status, step: d.step, message: d.message });

/** What a stored order's status shows when no progress event is at hand. */
export const progressOfStatus: Record<OrderStatus, Shown> = {
  received: shown(orderSteps.persisted),
  reserved: shown(orderSteps.reserved),
  awaiting_payment: shown(orderSteps.awaitingPayment),
  paid: shown(orderSteps.paid),
  awaiting_approval: shown(orderSteps.awaitingApproval),
  confirmed: shown(orderSteps.confirmed),
  shipped: shown(orderSteps.shipped),
  fulfilled: shown(orderSteps.fulfilled),
  rejected: { percent: 100, status: "failed", step: "rejected", message: "Order rejected" },
  cancelled: { percent: 100, status: "cancelled", step: "cancelled", message: "Order cancelled" },
  failed: { percent: 100, status: "failed", step: "failed", message: "Order failed" },
  refunded: shown(orderSteps.refunded),
  refund_pending: shown(orderSteps.refundPending),
  refund_failed: shown(orderSteps.refundFailed),
  disputed: shown(orderSteps.disputed),
};

/**
 * Steps an order reaches after fulfilment (refunds and disputes, from the shop or the provider's
 * side), each also the order's status: the order's row says them before its stream does, so a row
 * at one of these is ahead of a stream that ends elsewhere. The ship statement
 * (worker/adapters/orders.repo.ts) leaves a row at one of these alone, so a replayed ship step
 * never undoes a refund.
 */
export const afterSaleSteps: ReadonlySet<string> = new Set<OrderStatus>([
  "refund_pending",
  "refunded",
  "refund_failed",
  "disputed",
]);

/** Where more may still happen after the bar has ended: a refund or dispute may follow, or settle. */
const OPEN_AFTER_END: ReadonlySet<string> = new Set(["fulfilled", "refund_pending", "refund_failed", "disputed"]);

/**
 * Whether nothing more can happen to an order: a terminal event, except "fulfilled" (a refund may
 * follow) and the after-sale steps that may still move (a pending refund, a failed one an operator
 * may repeat, a dispute). An order page left open listens until then.
 */
export function isOrderSettled(s: Pick<ProgressSnapshot, "status" | "step">): boolean {
  return isTerminal(s) && !OPEN_AFTER_END.has(s.step);
}

/** Steps after which the order is on its way to the customer. */
const SHIPPED_STEPS: ReadonlySet<string> = new Set([orderSteps.shipped.step, orderSteps.fulfilled.step]);

/**
 * Whether an order has shipped or something has ended it: too late to cancel it, or to ship it
 * early. The workflow's `cancel` and `dispatch` controls read it from the order's progress.
 */
export function isShippedOrEnded(s: Pick<ProgressSnapshot, "status" | "step">): boolean {
  return isTerminal(s) || SHIPPED_STEPS.has(s.step);
}

/**
 * What may be cancelled: an order that has not shipped and that nothing has ended. The order's
 * page (its cancel button) and the workflow's `cancel` control read it from the order's progress.
 */
export function isCancellable(s: Pick<ProgressSnapshot, "status" | "step">): boolean {
  return !isShippedOrEnded(s);
}

/**
 * The same rule on the order's row: the statuses whose progress may be cancelled. The cancel
 * request's conditional statement (worker/adapters/orders.repo.ts) writes only on these, and the
 * operators' actions page offers a cancel only on these.
 */
export const cancellableStatuses: ReadonlySet<OrderStatus> = new Set(
  orderStatusSchema.options.filter((status) => isCancellable(progressOfStatus[status])),
);

/**
 * What an order may be refunded from: fulfilled, or after the bank refused the last refund. The
 * refund's conditional statement (worker/adapters/after-sale.repo.ts) writes only from these,
 * OrderRefund checks them before it asks the provider, and the operators' actions page offers a
 * refund only on these.
 */
export const refundableStatuses: ReadonlySet<OrderStatus> = new Set<OrderStatus>(["fulfilled", "refund_failed"]);

/** The same rule on a status read as plain text (a row not yet parsed as an `OrderStatus`). */
export function isRefundable(status: string): boolean {
  const refundable: ReadonlySet<string> = refundableStatuses;
  return refundable.has(status);
}
