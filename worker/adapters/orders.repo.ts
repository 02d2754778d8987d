/**
 * Orders in PostgreSQL. Every write is keyed by the order id, so a replayed step is a no-op. The
 * statements after fulfilment (refunds, disputes) are after-sale.repo.ts's, served as part of this repo.
 */
import type pg from "pg";
import { readOrder, type OrderRecord, type OrderRow } from "../../shared/order-read.ts";
import type { OrderStatus, PlaceOrderInput } from "../../shared/order.schema.ts";
import { afterSaleSteps, cancellableStatuses } from "../../shared/order-steps.ts";
import { PermanentError } from "../errors.ts";
import { createAfterSaleRepo } from "./after-sale.repo.ts";
import {
  reservationColumns,
  reservationCtes,
  reservationOutcome,
  type OrderReservation,
  type ReservationRow,
} from "./stock.repo.ts";

export type StoredOrder = OrderRecord;

export interface RecentOrder {
  orderId: string;
  placedAt: string;
  totalCents: number;
  currency: string;
  status: string;
}

/**
 * The row PLACE returns. `stored` and `lines` are jsonb built by the statement itself (so their
 * timestamps are text): null when no order was stored.
 */
interface PlaceRow extends ReservationRow {
  stored: { status: StoredOrder["status"]; created_at: string; total_cents: number; currency: string } | null;
  lines: StoredOrder["lines"] | null;
}

export function createOrdersRepo(pool: pg.Pool) {
  async function find(id: string): Promise<StoredOrder | null> {
    return readOrder(pool, id);
  }

  // One statement, so one round trip and one commit: price the lines from the catalog, insert the
  // order and its lines only if every SKU is known and they share a currency, and reserve every
  // line's units or none (stock.repo.ts owns that part). No order row back means the order was
  // stored before (a replayed step) or the lines are not valid: `explain` tells which. `$7` claims
  // the charge on the new row (`charge_claimed_at`): the order is charged by the same step, and a
  // cancel written from then on finds the charge under way, so a retry of the step after a crash
  // charges (the same key, the same charge) and the saga refunds it. No cancel can come before the row.
  const PLACE = `
    WITH wanted AS (
      SELECT w.sku, w.quantity FROM unnest($5::text[], $6::int[]) AS w(sku, quantity)
    ), priced AS (
      SELECT w.sku, w.quantity, p.price_cents, btrim(p.currency) AS currency, p.name
        FROM wanted w JOIN products p ON p.sku = w.sku
    ), fit AS (
      SELECT sum(quantity * price_cents) AS total, min(currency) AS currency FROM priced
      HAVING count(*) = cardinality($5::text[]) AND count(DISTINCT currency) = 1
    ), ins AS (
      INSERT INTO orders (id, email, payment_method, total_cents, currency, invocation_id, charge_claimed_at)
      SELECT $1, $2, $3, fit.total, fit.currency, $4, CASE WHEN $7::boolean THEN now() END FROM fit
      ON CONFLICT (id) DO NOTHING
      RETURNING id, status, created_at, total_cents, currency
    ), lines AS (
      INSERT INTO order_lines (order_id, sku, quantity, unit_price_cents)
      SELECT ins.id, priced.sku, priced.quantity, priced.price_cents FROM ins CROSS JOIN priced
    ), ${reservationCtes("$1::uuid", "EXISTS (SELECT 1 FROM ins)")}
    SELECT (SELECT to_jsonb(ins) FROM ins) AS stored,
           (SELECT jsonb_agg(jsonb_build_object('sku', sku, 'quantity', quantity, 'unitPriceCents', price_cents, 'name', name)
                              ORDER BY name) FROM priced) AS lines,
           ${reservationColumns}`;

  /** Why lines that were not stored cannot be: an unknown SKU or mixed currencies. */
  async function explain(input: PlaceOrderInput): Promise<never> {
    const skus = input.lines.map((l) => l.sku);
    const products = await pool.query<{ sku: string; currency: string }>(
      `SELECT sku, currency FROM products WHERE sku = ANY($1::text[])`,
      [skus],
    );
    const known = new Set(products.rows.map((p) => p.sku));
    const missing = skus.filter((sku) => !known.has(sku));
    if (missing.length > 0) throw new PermanentError("unknown_sku", `Unknown product: ${missing.join(", ")}`);
    throw new PermanentError("mixed_currency", "Products in one order must share a currency");
  }

  /**
   * Stores the order with prices from the catalog and reserves its stock, all lines or none; a
   * second call for the same id returns the first call's order and reservation. `claimCharge`: the
   * order is charged right after, by the same step (so the new row carries the claim).
   */
  async function place(
    input: PlaceOrderInput,
    invocationId: string,
    opts: { claimCharge: boolean },
  ): Promise<{ order: StoredOrder; stock: OrderReservation }> {
    const r = await pool.query<PlaceRow>(PLACE, [
      input.orderId,
      input.email,
      input.paymentMethod,
      invocationId,
      input.lines.map((l) => l.sku),
      input.lines.map((l) => l.quantity),
      opts.claimCharge,
    ]);
    // A SELECT without FROM returns its one row.
    const row = r.rows[0]!;
    const order: StoredOrder = row.stored
      ? {
          id: input.orderId,
          email: input.email,
          paymentMethod: input.paymentMethod,
          totalCents: Number(row.stored.total_cents),
          currency: String(row.stored.currency).trim(),
          status: row.stored.status,
          statusReason: null,
          invocationId,
          createdAt: new Date(row.stored.created_at).toISOString(),
          lines: row.lines ?? [],
        }
      : ((await find(input.orderId)) ?? (await explain(input)));
    return { order, stock: await reservationOutcome(pool, input.orderId, order.lines.length, row) };
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

  /** The decision and, when an operator made it, their name. */
  async function recordApproval(id: string, decision: "approved" | "rejected" | "timed_out", by?: string): Promise<void> {
    await pool.query(
      `UPDATE orders SET approval_decision = $2, approval_decided_by = $3,
              approval_decided_at = COALESCE(approval_decided_at, now()), updated_at = now()
        WHERE id = $1`,
      [id, decision, by ?? null],
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
        WHERE id = $1 AND cancel_requested_at IS NULL AND status <> ALL($2::text[])`,
      [id, [...afterSaleSteps]],
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
    const r = await pool.query<{ requested: boolean; known: boolean }>(
      `WITH asked AS (
         UPDATE orders SET cancel_requested_at = COALESCE(cancel_requested_at, now()),
                cancel_reason = COALESCE(cancel_reason, $2), updated_at = now()
          WHERE id = $1 AND status = ANY($3::text[])
         RETURNING 1)
       SELECT EXISTS (SELECT 1 FROM asked) AS requested, EXISTS (SELECT 1 FROM orders WHERE id = $1) AS known`,
      [id, reason.slice(0, 300), [...cancellableStatuses]],
    );
    // A SELECT without FROM returns its one row.
    const row = r.rows[0]!;
    return row.requested ? "requested" : row.known ? "closed" : "unknown";
  }

  /** The reason of a cancel the customer asked for, or null when none was. */
  async function cancelRequested(id: string): Promise<string | null> {
    const r = await pool.query<{ cancel_reason: string | null }>(
      `SELECT cancel_reason FROM orders WHERE id = $1 AND cancel_requested_at IS NOT NULL`,
      [id],
    );
    const row = r.rows[0];
    return row ? (row.cancel_reason ?? "") : null;
  }

  /** The newest orders placed with this address (compared case-insensitively) within the last `days`. */
  async function recentForEmail(email: string, opts: { limit: number; days: number }): Promise<RecentOrder[]> {
    const res = await pool.query<Pick<OrderRow, "id" | "created_at" | "total_cents" | "currency" | "status">>(
      `SELECT id, created_at, total_cents, currency, status FROM orders
        WHERE lower(email) = lower($1) AND created_at > now() - make_interval(days => $3)
        ORDER BY created_at DESC LIMIT $2`,
      [email, opts.limit, opts.days],
    );
    return res.rows.map((r) => ({
      orderId: r.id,
      placedAt: r.created_at.toISOString(),
      totalCents: r.total_cents,
      currency: r.currency.trim(),
      status: r.status,
    }));
  }

  return {
    find,
    place,
    setStatus,
    confirmPaid,
    markAwaitingPayment,
    markAwaitingApproval,
    recordApproval,
    ship,
    requestCancel,
    cancelRequested,
    recentForEmail,
    ...createAfterSaleRepo(pool),
  };
}

export type OrdersRepo = ReturnType<typeof createOrdersRepo>;
