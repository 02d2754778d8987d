/**
 * An order's snapshot under the one policy (resource-snapshot.ts). Each step writes the order's
 * row in the same durable step that publishes its events, so the row is never behind the stream;
 * it is ahead when Valkey lost the newest events.
 */
import type { Logger } from "../../shared/logger.ts";
import { afterSaleSteps, progressOfStatus } from "../../shared/order-steps.ts";
import { isTerminal, type ProgressEvent, type ProgressSnapshot } from "../../shared/progress-event.ts";
import type { OrderProgressRow, OrdersReadRepo } from "../adapters/orders-read.repo.ts";
import type { OrdersClient } from "../adapters/orders-client.ts";
import type { ProgressHub } from "./progress-hub.ts";
import { currentSnapshot, readStream, type KnownState, type SnapshotSource } from "./resource-snapshot.ts";

/** What an order's row says, for when its stream is behind it or cannot be read. */
export function snapshotFromOrderRow(order: OrderProgressRow): ProgressSnapshot {
  const p = progressOfStatus[order.status] ?? progressOfStatus.received;
  return {
    ...p,
    message: order.statusReason ?? p.message,
    seq: 0,
    at: null,
    invocationId: order.invocationId,
    // Still to be paid: the page offers the payment page again, as the event that opened it did.
    ...(order.status === "awaiting_payment" && order.paymentUrl && !order.statusReason
      ? { data: { paymentUrl: order.paymentUrl } }
      : {}),
  };
}

/**
 * The row is ahead when Valkey lost the newest events: further along, terminal where the stream is
 * not, or after the sale (a refund, its outcome, a dispute) where the stream's last event is
 * another step.
 */
export function rowIsAhead(
  stored: Pick<ProgressSnapshot, "percent" | "status" | "step">,
  streamed: Pick<ProgressSnapshot, "percent" | "status" | "step">,
): boolean {
  return (
    stored.percent > streamed.percent ||
    (isTerminal(stored) && !isTerminal(streamed)) ||
    (afterSaleSteps.has(stored.step) && stored.step !== streamed.step)
  );
}

type OrderSnapshotDeps = { orders: OrdersClient; orderStore: OrdersReadRepo; hub?: ProgressHub };

function orderSource(deps: OrderSnapshotDeps): SnapshotSource<OrderProgressRow> {
  return {
    kind: "order",
    logKey: "orderId",
    reads: "whole",
    readRow: (id) => deps.orderStore.orderProgress(id),
    fromRow: snapshotFromOrderRow,
    rowIsAhead,
    // A terminal event is the end, unless the row already read is after the sale (a refund or a
    // dispute comes after it).
    final: (streamed, row) => isTerminal(streamed) && !(row && afterSaleSteps.has(row.status)),
    status: (id) => deps.orders.status(id),
  };
}

/** Every event in the order's stream, or null when Valkey cannot be read. */
export function readOrderEvents(hub: ProgressHub, orderId: string, log: Logger): Promise<ProgressEvent[] | null> {
  return readStream(hub, { kind: "order", logKey: "orderId", reads: "whole" }, orderId, log);
}

export async function currentOrderSnapshot(
  deps: OrderSnapshotDeps,
  orderId: string,
  log: Logger,
  known: KnownState<OrderProgressRow> = {},
): Promise<ProgressSnapshot> {
  return (await currentSnapshot(deps, orderSource(deps), orderId, log, known)).snapshot;
}
