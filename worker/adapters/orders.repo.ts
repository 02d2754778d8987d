/** Orders in PostgreSQL. Every write is keyed by the order id, so a replayed step is a no-op. */
import type pg from "pg";
import { readOrder, type OrderRecord } from "../../shared/order-read.ts";
import type { OrderStatus, PlaceOrderInput } from "../../shared/order.schema.ts";
import { PermanentError } from "../errors.ts";
import { inTransaction } from "../../shared/pg-transaction.ts";

export type StoredOrder = OrderRecord;

export interface RecentOrder {
  orderId: string;
  placedAt: string;
  totalCents: number;
  currency: string;
  status: string;
}

export function createOrdersRepo(pool: pg.Pool) {
  async function find(id: string): Promise<StoredOrder | null> {
    return readOrder(pool, id);
  }

  /** Stores the order with prices from the catalog; a second call for the same id returns the first. */
  async function create(input: PlaceOrderInput, invocationId: string): Promise<StoredOrder> {
    await inTransaction(pool, async (client) => {
      const skus = input.lines.map((l) => l.sku);
      const products = await client.query(`SELECT sku, price_cents, currency FROM products WHERE sku = ANY($1::text[])`, [skus]);
      const bySku = new Map(products.rows.map((p) => [p.sku as string, p]));
      const missing = skus.filter((s) => !bySku.has(s));
      if (missing.length > 0) throw new PermanentError("unknown_sku", `Unknown product: ${missing.join(", ")}`);
      const currencies = new Set(products.rows.map((p) => (p.currency as string).trim()));
      if (currencies.size !== 1) throw new PermanentError("mixed_currency", "Products in one order must share a currency");
      const [currency] = currencies;
      const total = input.lines.reduce((sum, l) => sum + l.quantity * Number(bySku.get(l.sku)?.price_cents), 0);
      const inserted = await client.query(
        `INSERT INTO orders (id, email, payment_method, total_cents, currency, invocation_id)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
        [input.orderId, input.email, input.paymentMethod, total, currency, invocationId],
      );
      if (inserted.rowCount === 1) {
        for (const l of input.lines) {
          await client.query(`INSERT INTO order_lines (order_id, sku, quantity, unit_price_cents) VALUES ($1, $2, $3, $4)`, [
            input.orderId,
            l.sku,
            l.quantity,
            bySku.get(l.sku)?.price_cents,
          ]);
        }
      }
    });
    const stored = await find(input.orderId);
    if (!stored) throw new Error(`order ${input.orderId} vanished after insert`);
    return stored;
  }

  async function setStatus(id: string, status: OrderStatus, reason: string | null = null): Promise<void> {
    await pool.query(`UPDATE orders SET status = $2, status_reason = $3, updated_at = now() WHERE id = $1`, [id, status, reason]);
  }

  async function markAwaitingApproval(id: string): Promise<void> {
    await pool.query(
      `UPDATE orders SET status = 'awaiting_approval', approval_required = true, updated_at = now() WHERE id = $1`,
      [id],
    );
  }

  async function recordApproval(id: string, decision: "approved" | "rejected" | "timed_out"): Promise<void> {
    await pool.query(
      `UPDATE orders SET approval_decision = $2, approval_decided_at = COALESCE(approval_decided_at, now()), updated_at = now()
        WHERE id = $1`,
      [id, decision],
    );
  }

  async function markShipped(id: string): Promise<void> {
    await pool.query(
      `UPDATE orders SET status = 'shipped', shipped_at = COALESCE(shipped_at, now()), updated_at = now() WHERE id = $1`,
      [id],
    );
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

  return { find, create, setStatus, markAwaitingApproval, recordApproval, markShipped, recentForEmail };
}

export type OrdersRepo = ReturnType<typeof createOrdersRepo>;
