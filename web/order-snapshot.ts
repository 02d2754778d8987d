/**
 * The current progress of an order, for a page or the start of a stream: the workflow's durable
 * `status` snapshot, or (if Restate cannot answer) one derived from the order's row.
 */
import type { Logger } from "../shared/logger.ts";
import { emptySnapshot, type ProgressSnapshot } from "../shared/progress-event.ts";
import type { CatalogRepo, OrderView } from "./adapters/catalog.repo.ts";
import type { OrdersClient } from "./adapters/orders-client.ts";

const ROW_PROGRESS: Record<string, Pick<ProgressSnapshot, "percent" | "status" | "step" | "message">> = {
  received: { percent: 15, status: "running", step: "persisted", message: "Order saved" },
  reserved: { percent: 30, status: "running", step: "reserved", message: "Stock reserved" },
  paid: { percent: 45, status: "running", step: "paid", message: "Payment taken" },
  awaiting_approval: { percent: 50, status: "waiting", step: "awaiting_approval", message: "Awaiting approval" },
  confirmed: { percent: 70, status: "running", step: "confirmed", message: "Confirmed: preparing shipment" },
  shipped: { percent: 90, status: "running", step: "shipped", message: "Shipped" },
  fulfilled: { percent: 100, status: "succeeded", step: "fulfilled", message: "Order fulfilled" },
  rejected: { percent: 100, status: "failed", step: "rejected", message: "Order rejected" },
  cancelled: { percent: 100, status: "cancelled", step: "cancelled", message: "Order cancelled" },
  failed: { percent: 100, status: "failed", step: "failed", message: "Order failed" },
};

export function snapshotFromRow(order: OrderView): ProgressSnapshot {
  const p = ROW_PROGRESS[order.status] ?? ROW_PROGRESS.received!;
  return {
    ...p,
    message: order.statusReason ?? p.message,
    seq: 0,
    at: null,
    invocationId: order.invocationId,
  };
}

export async function currentSnapshot(
  deps: { orders: OrdersClient; catalog: CatalogRepo },
  orderId: string,
  log: Logger,
): Promise<ProgressSnapshot> {
  try {
    return await deps.orders.status(orderId);
  } catch (err) {
    log.warn({ err, orderId }, "workflow status unavailable; using the stored order");
    const row = await deps.catalog.findOrder(orderId);
    return row ? snapshotFromRow(row) : emptySnapshot;
  }
}
