/** Read-only views of orders, for pages and progress snapshots. Writes belong to the worker. */
import type pg from "pg";
import { readOrder, type OrderRecord, type OrderRow } from "../../shared/order-read.ts";
import type { OrderListCursor, OrderListQuery } from "../order-list-query.ts";

export type OrderView = OrderRecord;
export type OrderSummary = Omit<OrderRecord, "lines" | "paymentMethod"> & {
  /** The operator who approved the order, if one did (a rejection names them in its reason). */
  approvedBy: string | null;
};
export interface OrderPage {
  orders: OrderSummary[];
  /** The cursor of the last row when there are older orders, else null. */
  next: OrderListCursor | null;
  /** The cursor of the first row when there are newer orders, else null (this is the first page). */
  previous: OrderListCursor | null;
}
export type OrderProgressRow = Pick<OrderRecord, "status" | "statusReason" | "invocationId" | "paymentUrl">;

/**
 * The SQL of one page of the operator's list, newest first, by keyset: every filter is an index
 * range (migration 011) and the cursor continues it, so a page costs the same at order 50 or
 * 100,000. A previous page (`before`) reads the same index the other way, oldest first. One row
 * more than a page is read, to know whether there is another. The conditions are fixed SQL; only
 * their values are parameters. Exported for the test that reads its plans.
 */
export function orderPageQuery(q: OrderListQuery, pageSize: number): { text: string; values: unknown[] } {
  const where: string[] = [];
  const values: unknown[] = [];
  const param = (v: unknown) => `$${values.push(v)}`;
  if (q.status) where.push(`status = ${param(q.status)}`);
  if (q.search?.kind === "email") where.push(`lower(email) = ${param(q.search.email)}`);
  if (q.search?.kind === "id") {
    const range = `id BETWEEN ${param(q.search.from)}::uuid AND ${param(q.search.to)}::uuid`;
    // The short reference (shared/order-reference.ts) is the id's end: read through the expression
    // index of migration 015, whose expression this must be, character for character.
    where.push(q.search.reference ? `(${range} OR right(id::text, 12) = ${param(q.search.reference)})` : range);
  }
  const cursor = q.after ?? q.before;
  if (cursor) {
    const at = `'epoch'::timestamptz + ${param(cursor.createdAtMicros)}::bigint * interval '1 microsecond'`;
    where.push(`(created_at, id) ${q.after ? "<" : ">"} (${at}, ${param(cursor.id)}::uuid)`);
  }
  const direction = q.after || !q.before ? "DESC" : "ASC";
  const text = `SELECT id, email, total_cents, currency, status, status_reason, invocation_id, created_at,
            CASE WHEN approval_decision = 'approved' THEN approval_decided_by END AS approved_by,
            (extract(epoch FROM created_at) * 1000000)::bigint::text AS created_us
       FROM orders ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY created_at ${direction}, id ${direction} LIMIT ${param(pageSize + 1)}`;
  return { text, values };
}

type ProgressRow = Pick<OrderRow, "status" | "status_reason" | "invocation_id" | "payment_url">;
type SummaryRow = Omit<OrderRow, "payment_method" | "payment_url"> & { approved_by: string | null };
/** A row of `orderPageQuery`: its cursor's time as text, to the microsecond a JS Date cannot hold. */
type PageRow = SummaryRow & { created_us: string };

const progressRow = (o: ProgressRow): OrderProgressRow => ({
  status: o.status,
  statusReason: o.status_reason,
  invocationId: o.invocation_id,
  paymentUrl: o.payment_url ?? null,
});

const summary = (o: SummaryRow): OrderSummary => ({
  id: o.id,
  email: o.email,
  totalCents: o.total_cents,
  currency: o.currency.trim(),
  status: o.status,
  statusReason: o.status_reason,
  invocationId: o.invocation_id,
  createdAt: o.created_at.toISOString(),
  approvedBy: o.approved_by,
});

export function createOrdersReadRepo(pool: pg.Pool) {
  async function findOrder(id: string): Promise<OrderView | null> {
    return readOrder(pool, id);
  }

  /** Where an order stands, in one indexed read: what a progress snapshot needs from the row. */
  async function orderProgress(id: string): Promise<OrderProgressRow | null> {
    const r = await pool.query<ProgressRow>(
      `SELECT status, status_reason, invocation_id, payment_url FROM orders WHERE id = $1`,
      [id],
    );
    const o = r.rows[0];
    return o ? progressRow(o) : null;
  }

  /** Where many orders stand, in one read (the quiet check of open streams); ids with no row are left out. */
  async function ordersProgress(ids: readonly string[]): Promise<Map<string, OrderProgressRow>> {
    const r = await pool.query<ProgressRow & Pick<OrderRow, "id">>(
      `SELECT id, status, status_reason, invocation_id, payment_url FROM orders WHERE id = ANY($1::uuid[])`,
      [ids],
    );
    return new Map(r.rows.map((o) => [o.id, progressRow(o)]));
  }

  /** The order a payment belongs to (a refund or dispute made in the provider's dashboard names only the payment). */
  async function orderIdForPayment(paymentRef: string): Promise<string | null> {
    const r = await pool.query<Pick<OrderRow, "id">>(`SELECT id FROM orders WHERE payment_ref = $1 LIMIT 1`, [paymentRef]);
    return r.rows[0]?.id ?? null;
  }

  /** One page of the operator's list (see `orderPageQuery`). */
  async function pageOrders(q: OrderListQuery, pageSize: number): Promise<OrderPage> {
    const r = await pool.query<PageRow>(orderPageQuery(q, pageSize));
    const more = r.rows.length > pageSize;
    // Going back with no more than a page of newer orders left: that is the first page, shown whole.
    if (q.before && !more) return pageOrders({ ...q, before: undefined }, pageSize);
    const rows = q.before ? r.rows.slice(0, pageSize).reverse() : r.rows.slice(0, pageSize);
    const cursorOf = (o: PageRow | undefined) => (o ? { createdAtMicros: o.created_us, id: o.id } : null);
    return {
      orders: rows.map(summary),
      // Past a cursor there is always the cursor's own row on the other side.
      next: q.before || more ? cursorOf(rows.at(-1)) : null,
      // An empty page past the oldest order goes back to the orders newer than its cursor.
      previous: q.after ? (cursorOf(rows[0]) ?? q.after) : q.before ? cursorOf(rows[0]) : null,
    };
  }

  /** Orders newest first: those with the given ids, or with the given status, or all. */
  async function listOrders(filter: { ids?: string[]; status?: string; limit?: number } = {}): Promise<OrderSummary[]> {
    const r = await pool.query<SummaryRow>(
      `SELECT id, email, total_cents, currency, status, status_reason, invocation_id, created_at,
              CASE WHEN approval_decision = 'approved' THEN approval_decided_by END AS approved_by FROM orders
        WHERE ($1::uuid[] IS NULL OR id = ANY($1::uuid[])) AND ($2::text IS NULL OR status = $2)
        ORDER BY created_at DESC LIMIT $3`,
      [filter.ids ?? null, filter.status ?? null, filter.limit ?? 100],
    );
    return r.rows.map(summary);
  }

  return { findOrder, orderProgress, ordersProgress, orderIdForPayment, listOrders, pageOrders };
}
export type OrdersReadRepo = ReturnType<typeof createOrdersReadRepo>;
