/** Orders in PostgreSQL. Every write is keyed by the order id, so a replayed step is a no-op. */
import type pg from "pg";
import { readOrder, type OrderRecord } from "../../shared/order-read.ts";
import type { OrderStatus, PlaceOrderInput } from "../../shared/order.schema.ts";
import { PermanentError } from "../errors.ts";

export type StoredOrder = OrderRecord;

export interface RecentOrder {
  orderId: string;
  placedAt: string;
  totalCents: number;
  currency: string;
  status: string;
}

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

/** Statuses an order reaches after it shipped: a replayed ship step leaves them alone. */
const AFTER_SALE = `('refunded', 'refund_pending', 'refund_failed', 'disputed')`;

export function createOrdersRepo(pool: pg.Pool) {
  async function find(id: string): Promise<StoredOrder | null> {
    return readOrder(pool, id);
  }

  // One statement, so one round trip: price the lines from the catalog, and insert the order and
  // its lines only if every SKU is known and they share a currency. No row back means the order was
  // stored before (a replayed step) or the lines are not valid: `explain` tells which.
  const CREATE = `
    WITH wanted AS (
      SELECT w.sku, w.quantity FROM unnest($5::text[], $6::int[]) AS w(sku, quantity)
    ), priced AS (
      SELECT w.sku, w.quantity, p.price_cents, btrim(p.currency) AS currency, p.name
        FROM wanted w JOIN products p ON p.sku = w.sku
    ), fit AS (
      SELECT sum(quantity * price_cents) AS total, min(currency) AS currency FROM priced
      HAVING count(*) = cardinality($5::text[]) AND count(DISTINCT currency) = 1
    ), ins AS (
      INSERT INTO orders (id, email, payment_method, total_cents, currency, invocation_id)
      SELECT $1, $2, $3, fit.total, fit.currency, $4 FROM fit
      ON CONFLICT (id) DO NOTHING
      RETURNING id, status, created_at, total_cents, currency
    ), lines AS (
      INSERT INTO order_lines (order_id, sku, quantity, unit_price_cents)
      SELECT ins.id, priced.sku, priced.quantity, priced.price_cents FROM ins CROSS JOIN priced
    )
    SELECT ins.status, ins.created_at, ins.total_cents, ins.currency, priced.sku, priced.quantity, priced.price_cents, priced.name
      FROM ins CROSS JOIN priced ORDER BY priced.name`;

  /** Why lines that were not stored cannot be: an unknown SKU or mixed currencies. */
  async function explain(input: PlaceOrderInput): Promise<never> {
    const skus = input.lines.map((l) => l.sku);
    const products = await pool.query(`SELECT sku, currency FROM products WHERE sku = ANY($1::text[])`, [skus]);
    const known = new Set(products.rows.map((p) => p.sku as string));
    const missing = skus.filter((sku) => !known.has(sku));
    if (missing.length > 0) throw new PermanentError("unknown_sku", `Unknown product: ${missing.join(", ")}`);
    throw new PermanentError("mixed_currency", "Products in one order must share a currency");
  }

  /** Stores the order with prices from the catalog; a second call for the same id returns the first. */
  async function create(input: PlaceOrderInput, invocationId: string): Promise<StoredOrder> {
    const r = await pool.query(CREATE, [
      input.orderId,
      input.email,
      input.paymentMethod,
      invocationId,
      input.lines.map((l) => l.sku),
      input.lines.map((l) => l.quantity),
    ]);
    const first = r.rows[0];
    if (!first) return (await find(input.orderId)) ?? explain(input);
    return {
      id: input.orderId,
      email: input.email,
      paymentMethod: input.paymentMethod,
      totalCents: first.total_cents,
      currency: String(first.currency).trim(),
      status: first.status,
      statusReason: null,
      invocationId,
      createdAt: new Date(first.created_at).toISOString(),
      lines: r.rows.map((l) => ({ sku: l.sku, quantity: l.quantity, unitPriceCents: l.price_cents, name: l.name })),
    };
  }

  async function setStatus(id: string, status: OrderStatus, reason: string | null = null): Promise<void> {
    await pool.query(`UPDATE orders SET status = $2, status_reason = $3, updated_at = now() WHERE id = $1`, [id, status, reason]);
  }

  /** Paid at once: confirmed, with the charge's provider reference (a refund after fulfilment needs it). */
  async function confirmPaid(id: string, paymentRef: string): Promise<void> {
    await pool.query(`UPDATE orders SET status = 'confirmed', payment_ref = $2, updated_at = now() WHERE id = $1`, [
      id,
      paymentRef,
    ]);
  }

  /** The customer pays on the provider's page: the order keeps the page's session and address. */
  async function markAwaitingPayment(id: string, sessionId: string, paymentUrl: string): Promise<void> {
    await pool.query(
      `UPDATE orders SET status = 'awaiting_payment', checkout_session_id = $2, payment_url = $3, updated_at = now()
        WHERE id = $1 AND status IN ('received', 'reserved', 'awaiting_payment')`,
      [id, sessionId, paymentUrl],
    );
  }

  /** Authorised and waiting for an operator; the reference stays the same once captured. */
  async function markAwaitingApproval(id: string, paymentRef: string): Promise<void> {
    await pool.query(
      `UPDATE orders SET status = 'awaiting_approval', approval_required = true, payment_ref = $2, updated_at = now()
        WHERE id = $1`,
      [id, paymentRef],
    );
  }

  async function refundable(id: string): Promise<RefundableOrder | null> {
    const r = await pool.query(
      `SELECT o.status, o.email, o.total_cents, o.currency, o.payment_ref, r.provider_ref AS refund_ref, r.status AS refund_state
         FROM orders o LEFT JOIN order_refunds r ON r.order_id = o.id WHERE o.id = $1`,
      [id],
    );
    const o = r.rows[0];
    return o
      ? {
          status: String(o.status),
          email: String(o.email),
          totalCents: Number(o.total_cents),
          currency: String(o.currency).trim(),
          paymentRef: o.payment_ref === null ? null : String(o.payment_ref),
          refund:
            o.refund_ref === null
              ? null
              : { providerRef: String(o.refund_ref), state: o.refund_state as "pending" | "succeeded" | "failed" },
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
     WHERE id = $1 AND status IN ('fulfilled', 'refund_failed')`;

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

  /** The decision and, when an operator made it, their name. */
  async function recordApproval(id: string, decision: "approved" | "rejected" | "timed_out", by?: string): Promise<void> {
    await pool.query(
      `UPDATE orders SET approval_decision = $2, approval_decided_by = $3,
              approval_decided_at = COALESCE(approval_decided_at, now()), updated_at = now()
        WHERE id = $1`,
      [id, decision, by ?? null],
    );
  }

  async function markShipped(id: string): Promise<void> {
    await pool.query(
      `UPDATE orders SET status = 'shipped', shipped_at = COALESCE(shipped_at, now()), updated_at = now() WHERE id = $1`,
      [id],
    );
  }

  /**
   * The point of no return, decided by the order's row: shipped and done in one write unless a
   * cancel was written first (`requestCancel`; both change the same row, so one of them wins).
   * A replay never undoes a refund and reports the order shipped.
   */
  async function ship(id: string): Promise<{ shipped: true } | { shipped: false; reason: string }> {
    const r = await pool.query(
      `UPDATE orders SET status = 'fulfilled', status_reason = NULL, shipped_at = COALESCE(shipped_at, now()), updated_at = now()
        WHERE id = $1 AND cancel_requested_at IS NULL AND status NOT IN ${AFTER_SALE}`,
      [id],
    );
    if (r.rowCount === 1) return { shipped: true };
    const cancel = await cancelRequested(id);
    return cancel === null ? { shipped: true } : { shipped: false, reason: cancel };
  }

  /**
   * A customer's cancel, written unless the order has shipped or ended: `requested` when it stands,
   * `closed` when it came too late, `unknown` when the order is not stored yet. A second request
   * keeps the first one's reason.
   */
  async function requestCancel(id: string, reason: string): Promise<"requested" | "closed" | "unknown"> {
    const r = await pool.query(
      `WITH asked AS (
         UPDATE orders SET cancel_requested_at = COALESCE(cancel_requested_at, now()),
                cancel_reason = COALESCE(cancel_reason, $2), updated_at = now()
          WHERE id = $1 AND status IN ('received', 'reserved', 'awaiting_payment', 'paid', 'awaiting_approval', 'confirmed')
         RETURNING 1)
       SELECT EXISTS (SELECT 1 FROM asked) AS requested, EXISTS (SELECT 1 FROM orders WHERE id = $1) AS known`,
      [id, reason.slice(0, 300)],
    );
    const row = r.rows[0] as { requested: boolean; known: boolean };
    return row.requested ? "requested" : row.known ? "closed" : "unknown";
  }

  /**
   * Before charging: null when the charge may go ahead (claimed now, or by an earlier attempt of the
   * same step, which must then finish what it may have started), or the reason of a cancel written
   * before any claim. The answer is the same on every attempt after the first that claimed.
   */
  async function claimCharge(id: string): Promise<string | null> {
    const r = await pool.query(
      `UPDATE orders SET charge_claimed_at = COALESCE(charge_claimed_at, now())
        WHERE id = $1 AND (charge_claimed_at IS NOT NULL OR cancel_requested_at IS NULL)`,
      [id],
    );
    if (r.rowCount === 1) return null;
    return (await cancelRequested(id)) ?? "Cancelled by the customer";
  }

  /** The reason of a cancel the customer asked for, or null when none was. */
  async function cancelRequested(id: string): Promise<string | null> {
    const r = await pool.query(`SELECT cancel_reason FROM orders WHERE id = $1 AND cancel_requested_at IS NOT NULL`, [id]);
    return r.rows[0] ? String(r.rows[0].cancel_reason ?? "") : null;
  }

  /** The newest orders placed with this address (compared case-insensitively) within the last `days`. */
  async function recentForEmail(email: string, opts: { limit: number; days: number }): Promise<RecentOrder[]> {
    const res = await pool.query(
      `SELECT id, created_at, total_cents, currency, status FROM orders
        WHERE lower(email) = lower($1) AND created_at > now() - make_interval(days => $3)
        ORDER BY created_at DESC LIMIT $2`,
      [email, opts.limit, opts.days],
    );
    return res.rows.map((r) => ({
      orderId: String(r.id),
      placedAt: (r.created_at as Date).toISOString(),
      totalCents: Number(r.total_cents),
      currency: String(r.currency).trim(),
      status: String(r.status),
    }));
  }

  return {
    find,
    create,
    setStatus,
    confirmPaid,
    markAwaitingPayment,
    markAwaitingApproval,
    recordApproval,
    markShipped,
    ship,
    requestCancel,
    cancelRequested,
    claimCharge,
    recentForEmail,
    refundable,
    recordRefund,
    settleRefund,
    moveAfterSale,
  };
}

export type OrdersRepo = ReturnType<typeof createOrdersRepo>;
