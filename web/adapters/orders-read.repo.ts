/** Read-only views of orders, for pages and progress snapshots. Writes belong to the worker. */
import type pg from "pg";
import { readOrder, type OrderRecord } from "../../shared/order-read.ts";
import type { OrderListCursor, OrderListQuery } from "../order-list-query.ts";

export type OrderView = OrderRecord;
export type OrderSummary = Omit<OrderRecord, "lines" | "paymentMethod">;
export interface OrderPage {
  orders: OrderSummary[];
  /** The cursor of the last row when there are older orders, else null. */
  next: OrderListCursor | null;
}
export type OrderProgressRow = Pick<OrderRecord, "status" | "statusReason" | "invocationId">;

/**
 * The SQL of one page of the operator's list, newest first, by keyset: every filter is an index
 * range (migration 011) and the cursor continues it, so a page costs the same at order 50 or
 * 100,000. One row more than a page is read, to know whether there is a next one. The conditions
 * are fixed SQL; only their values are parameters. Exported for the test that reads its plans.
 */
export function orderPageQuery(q: OrderListQuery, pageSize: number): { text: string; values: unknown[] } {
  const where: string[] = [];
  const values: unknown[] = [];
  const param = (v: unknown) => `$${values.push(v)}`;
  if (q.status) where.push(`status = ${param(q.status)}`);
  if (q.search?.kind === "email") where.push(`lower(email) = ${param(q.search.email)}`);
  if (q.search?.kind === "id") where.push(`id BETWEEN ${param(q.search.from)}::uuid AND ${param(q.search.to)}::uuid`);
  if (q.after) {
    const at = `'epoch'::timestamptz + ${param(q.after.createdAtMicros)}::bigint * interval '1 microsecond'`;
    where.push(`(created_at, id) < (${at}, ${param(q.after.id)}::uuid)`);
  }
  const text = `SELECT id, email, total_cents, currency, status, status_reason, invocation_id, created_at,
            (extract(epoch FROM created_at) * 1000000)::bigint::text AS created_us
       FROM orders ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY created_at DESC, id DESC LIMIT ${param(pageSize + 1)}`;
  return { text, values };
}

const summary = (o: pg.QueryResultRow): OrderSummary => ({
  id: o.id,
  email: o.email,
  totalCents: o.total_cents,
  currency: o.currency.trim(),
  status: o.status,
  statusReason: o.status_reason,
  invocationId: o.invocation_id,
  createdAt: new Date(o.created_at).toISOString(),
});

export function createOrdersReadRepo(pool: pg.Pool) {
  async function findOrder(id: string): Promise<OrderView | null> {
    return readOrder(pool, id);
  }

  /** Where an order stands, in one indexed read: what a progress snapshot needs from the row. */
  async function orderProgress(id: string): Promise<OrderProgressRow | null> {
    const r = await pool.query(`SELECT status, status_reason, invocation_id FROM orders WHERE id = $1`, [id]);
    const o = r.rows[0];
    return o ? { status: o.status, statusReason: o.status_reason, invocationId: o.invocation_id } : null;
  }

  /** One page of the operator's list (see `orderPageQuery`). */
  async function pageOrders(q: OrderListQuery, pageSize: number): Promise<OrderPage> {
    const r = await pool.query(orderPageQuery(q, pageSize));
    const rows = r.rows.slice(0, pageSize);
    const last = rows.at(-1);
    return {
      orders: rows.map(summary),
      next: r.rows.length > pageSize && last ? { createdAtMicros: last.created_us, id: last.id } : null,
    };
  }

  /** Orders newest first: those with the given ids, or with the given status, or all. */
  async function listOrders(filter: { ids?: string[]; status?: string; limit?: number } = {}): Promise<OrderSummary[]> {
    const r = await pool.query(
      `SELECT id, email, total_cents, currency, status, status_reason, invocation_id, created_at FROM orders
        WHERE ($1::uuid[] IS NULL OR id = ANY($1::uuid[])) AND ($2::text IS NULL OR status = $2)
        ORDER BY created_at DESC LIMIT $3`,
      [filter.ids ?? null, filter.status ?? null, filter.limit ?? 100],
    );
    return r.rows.map(summary);
  }

  return { findOrder, orderProgress, listOrders, pageOrders };
}
export type OrdersReadRepo = ReturnType<typeof createOrdersReadRepo>;
