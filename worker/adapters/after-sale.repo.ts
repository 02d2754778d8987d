/**
 * An order's payment after fulfilment in PostgreSQL: its refund (one row per order) and the
 * order's after-sale status. Every write is conditional on where the order stands, so a replayed
 * step is a no-op.
 */
import type pg from "pg";
import { refundableStatuses } from "../../shared/order-steps.ts";
import type { OrderStatus } from "../../shared/order.schema.ts";

/** What a refund needs from an order's row. */
export interface RefundableOrder {
  status: string;
  email: string;
  totalCents: number;
  currency: string;
  /** The charge's provider reference; null for an order that was never charged. */
  paymentRef: string | null;
  /** The order's refund, if one was made (a failed one may be followed by another). */
  refund: { providerRef: string; state: "pending" | "succeeded" | "failed" } | null;
}

export interface RefundRecord {
  orderId: string;
  amountCents: number;
  currency: string;
  providerRef: string;
  operator: string;
  reason: string;
  /** What the order's row says from now on (status_reason). */
  statusReason: string;
  /** Where the refund stands at the provider: the order becomes refunded, refund_pending or refund_failed. */
  state: "pending" | "succeeded" | "failed";
  failureReason?: string | undefined;
}

/** The row `refundable` reads: the order and, joined, its refund (null columns when there is none). */
interface RefundableRow {
  status: string;
  email: string;
  total_cents: number;
  currency: string;
  payment_ref: string | null;
  refund_ref: string | null;
  /** Held to these values by order_refunds' CHECK. */
  refund_state: "pending" | "succeeded" | "failed" | null;
}

export function createAfterSaleRepo(pool: pg.Pool) {
  async function refundable(id: string): Promise<RefundableOrder | null> {
    const r = await pool.query<RefundableRow>(
      `SELECT o.status, o.email, o.total_cents, o.currency, o.payment_ref, r.provider_ref AS refund_ref, r.status AS refund_state
         FROM orders o LEFT JOIN order_refunds r ON r.order_id = o.id WHERE o.id = $1`,
      [id],
    );
    const o = r.rows[0];
    return o
      ? {
          status: o.status,
          email: o.email,
          totalCents: o.total_cents,
          currency: o.currency.trim(),
          paymentRef: o.payment_ref,
          refund: o.refund_ref === null || o.refund_state === null ? null : { providerRef: o.refund_ref, state: o.refund_state },
        }
      : null;
  }

  // One statement: the refund's row (one per order, by its primary key; a failed refund's row is
  // replaced by the next attempt) and the order's new status, from a state that may be refunded.
  // Run again, it changes nothing: the row is no longer 'failed' (or is the same), the status moved.
  const RECORD_REFUND = `
    WITH refund AS (
      INSERT INTO order_refunds (order_id, amount_cents, currency, provider_ref, operator, reason, status, failure_reason)
      VALUES ($1, $2, $3, $4, $5, $6, $8, $9)
      ON CONFLICT (order_id) DO UPDATE
        SET amount_cents = EXCLUDED.amount_cents, provider_ref = EXCLUDED.provider_ref, operator = EXCLUDED.operator,
            reason = EXCLUDED.reason, status = EXCLUDED.status, failure_reason = EXCLUDED.failure_reason,
            created_at = now(), updated_at = now()
        WHERE order_refunds.status = 'failed' AND order_refunds.provider_ref <> EXCLUDED.provider_ref
    )
    UPDATE orders
       SET status = CASE $8::text WHEN 'succeeded' THEN 'refunded' WHEN 'pending' THEN 'refund_pending' ELSE 'refund_failed' END,
           status_reason = $7, updated_at = now()
     WHERE id = $1 AND status = ANY($10::text[])`;

  async function recordRefund(r: RefundRecord): Promise<void> {
    await pool.query(RECORD_REFUND, [
      r.orderId,
      r.amountCents,
      r.currency,
      r.providerRef,
      r.operator,
      r.reason,
      r.statusReason,
      r.state,
      r.failureReason ?? null,
      [...refundableStatuses],
    ]);
  }

  // A pending refund's outcome: its row and the order's status, only from pending (a replay, or an
  // outcome heard twice, changes nothing). True when this call moved it.
  const SETTLE_REFUND = `
    WITH refund AS (
      UPDATE order_refunds SET status = $3, failure_reason = $4, updated_at = now()
       WHERE order_id = $1 AND provider_ref = $2 AND status = 'pending'
    )
    UPDATE orders SET status = CASE $3::text WHEN 'succeeded' THEN 'refunded' ELSE 'refund_failed' END,
           status_reason = $5, updated_at = now()
     WHERE id = $1 AND status = 'refund_pending'`;

  async function settleRefund(
    orderId: string,
    s: { providerRef: string; state: "succeeded" | "failed"; failureReason?: string | undefined; statusReason: string },
  ): Promise<boolean> {
    const r = await pool.query(SETTLE_REFUND, [orderId, s.providerRef, s.state, s.failureReason ?? null, s.statusReason]);
    return (r.rowCount ?? 0) > 0;
  }

  /** Moves an order between after-sale statuses (a dispute opened or closed); true when it moved. */
  async function moveAfterSale(id: string, from: readonly string[], to: OrderStatus, reason: string): Promise<boolean> {
    const r = await pool.query(
      `UPDATE orders SET status = $3, status_reason = $4, updated_at = now() WHERE id = $1 AND status = ANY($2::text[])`,
      [id, from, to, reason],
    );
    return (r.rowCount ?? 0) > 0;
  }

  return { refundable, recordRefund, settleRefund, moveAfterSale };
}

export type AfterSaleRepo = ReturnType<typeof createAfterSaleRepo>;
