/** Read-only views of orders, for pages and progress snapshots. Writes belong to the worker. */
import type pg from "pg";
import { readOrder, type OrderRecord } from "../../shared/order-read.ts";

export type OrderView = OrderRecord;
export type OrderSummary = Omit<OrderRecord, "lines" | "paymentMethod">;
export type OrderProgressRow = Pick<OrderRecord, "status" | "statusReason" | "invocationId">;

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

  /** Orders newest first: those with the given ids, or with the given status, or all. */
  async function listOrders(filter: { ids?: string[]; status?: string; limit?: number } = {}): Promise<OrderSummary[]> {
    const r = await pool.query(
      `SELECT id, email, total_cents, currency, status, status_reason, invocation_id, created_at FROM orders
        WHERE ($1::uuid[] IS NULL OR id = ANY($1::uuid[])) AND ($2::text IS NULL OR status = $2)
        ORDER BY created_at DESC LIMIT $3`,
      [filter.ids ?? null, filter.status ?? null, filter.limit ?? 100],
    );
    return r.rows.map((o) => ({
      id: o.id,
      email: o.email,
      totalCents: o.total_cents,
      currency: o.currency.trim(),
      status: o.status,
      statusReason: o.status_reason,
      invocationId: o.invocation_id,
      createdAt: new Date(o.created_at).toISOString(),
    }));
  }

  return { findOrder, orderProgress, listOrders };
}
export type OrdersReadRepo = ReturnType<typeof createOrdersReadRepo>;
