/**
 * The current progress of an order, for a page or the start of a stream, without asking Restate
 * on the common path: the order's Valkey stream (its newest event, and the invocation id its first
 * event carries), checked against the order's row, which each step writes in the same durable step
 * that publishes its events, so it is never behind the stream. The stream can be behind the row
 * (Valkey was away when an event was published): then the row wins. Restate's `status` handler is
 * asked only when Valkey cannot be read at all. A web restart that makes every open page reconnect
 * therefore costs Restate nothing.
 */
import type { Logger } from "../../shared/logger.ts";
import { afterSaleSteps, progressOfStatus } from "../../shared/order-steps.ts";
import { emptySnapshot, isTerminal, type ProgressEvent, type ProgressSnapshot } from "../../shared/progress-event.ts";
import type { OrderProgressRow, OrdersReadRepo } from "../adapters/orders-read.repo.ts";
import type { OrdersClient } from "../adapters/orders-client.ts";
import type { ProgressHub } from "./progress-hub.ts";

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

/** The invocation id an event names in its data (the order's first event does), if any. */
export function invocationIdOf(e: Pick<ProgressEvent, "data">): string | null {
  const id = e.data?.invocationId;
  return typeof id === "string" ? id : null;
}

/** The state after a resource's stored events, or null when there are none. */
export function snapshotFromEvents(events: ProgressEvent[]): ProgressSnapshot | null {
  const last = events.at(-1);
  if (!last) return null;
  const invocationId = events.map(invocationIdOf).find((id) => id !== null) ?? null;
  const { kind: _kind, ...state } = last;
  return { ...state, invocationId };
}

/**
 * What a caller already read, so nothing is read twice: the stream's events (null when Valkey could
 * not be read) and the order's row (null when there is none). Left out, each is read here.
 */
export interface KnownOrderState {
  events?: ProgressEvent[] | null;
  row?: OrderProgressRow | null;
}

/** Every event in the order's stream, or null when Valkey cannot be read. */
export async function readOrderEvents(hub: ProgressHub, orderId: string, log: Logger): Promise<ProgressEvent[] | null> {
  try {
    return await hub.readSince({ kind: "order", id: orderId }, 0);
  } catch (err) {
    log.warn({ err, orderId }, "progress stream unavailable; asking the workflow");
    return null;
  }
}

export async function currentOrderSnapshot(
  deps: { orders: OrdersClient; orderStore: OrdersReadRepo; hub?: ProgressHub },
  orderId: string,
  log: Logger,
  known: KnownOrderState = {},
): Promise<ProgressSnapshot> {
  const events = known.events !== undefined ? known.events : deps.hub ? await readOrderEvents(deps.hub, orderId, log) : null;
  const streamed = events ? snapshotFromEvents(events) : null;
  // A terminal event is the end, unless the row already read is after the sale (a refund or a
  // dispute comes after it).
  if (streamed && isTerminal(streamed) && !(known.row && afterSaleSteps.has(known.row.status))) return streamed;
  if (events === null) {
    try {
      return await deps.orders.status(orderId);
    } catch (err) {
      log.warn({ err, orderId }, "workflow status unavailable; using the stored order");
    }
  }
  const row = known.row !== undefined ? known.row : await deps.orderStore.orderProgress(orderId);
  if (!row) return streamed ?? emptySnapshot;
  const stored = snapshotFromOrderRow(row);
  if (!streamed) return stored;
  return rowIsAhead(stored, streamed) ? { ...stored, invocationId: streamed.invocationId ?? stored.invocationId } : streamed;
}

/**
 * The row is never behind the stream; it is ahead when Valkey lost the newest events: further
 * along, terminal where the stream is not, or after the sale (a refund, its outcome, a dispute)
 * where the stream's last event is another step.
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
