/**
 * The steps of an order as the customer sees them: the progress events the workflow publishes and
 * the snapshot the web derives from a stored row when there is no event to show. One table, read
 * by both, so the bar means the same thing wherever it is drawn.
 */
import type { OrderStatus } from "./order.schema.ts";
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
};

/**
 * Whether nothing more can happen to an order: a terminal event, except "fulfilled", which an
 * operator's refund may still follow. An order page left open listens until then.
 */
export function isOrderSettled(s: Pick<ProgressSnapshot, "status" | "step">): boolean {
  return isTerminal(s) && s.step !== orderSteps.fulfilled.step;
}
