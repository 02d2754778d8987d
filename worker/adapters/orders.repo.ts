/** Orders in PostgreSQL. Every write is keyed by the order id, so a replayed step is a no-op. */
import type pg from "pg";
import type { OrderLine, OrderStatus, PlaceOrderInput } from "../../shared/order.schema.ts";
import { PermanentError } from "../errors.ts";

export interface StoredOrderLine extends OrderLine {
  name: string;
  unitPriceCents: number;
}

export interface StoredOrder {
  id: string;
  email: string;
  paymentMethod: string;
  totalCents: number;
  currency: string;
  status: OrderStatus;
  statusReason: string | null;
  invocationId: string | null;
  createdAt: string;
  lines: StoredOrderLine[];
}

export function createOrdersRepo(pool: pg.Pool) {
  async function find(id: string): Promise<StoredOrder | null> {
    const o = await pool.query(
      `SELECT id, email, payment_method, total_cents, currency, status, status_reason, invocation_id, created_at
         FROM orders WHERE id = $1`,
      [id],
    );
    const row = o.rows[0];
    if (!row) return null;
    const l = await pool.query(
      `SELECT l.sku, l.quantity, l.unit_price_cents, p.name
         FROM order_lines l JOIN products p USING (sku) WHERE l.order_id = $1 ORDER BY l.sku`,
      [id],
    );
    return {
      id: row.id,
      email: row.email,
      paymentMethod: row.payment_method,
      totalCents: row.total_cents,
      currency: row.currency.trim(),
      status: row.status,
      statusReason: row.status_reason,
      invocationId: row.invocation_id,
      createdAt: new Date(row.created_at).toISOString(),
      lines: l.rows.map((r) => ({ sku: r.sku, quantity: r.quantity, unitPriceCents: r.unit_price_cents, name: r.name })),
    };
  }

  /** Stores the order with prices from the catalog; a second call for the same id returns the first. */
  async function create(input: PlaceOrderInput, invocationId: string): Promise<StoredOrder> {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
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
      await client.query("COMMIT");
    } catch (err) {
      await client.query("ROLLBACK");
      throw err;
    } finally {
      client.release();
    }
    const stored = await find(input.orderId);
    if (!stored) throw new Error(`order ${input.orderId} vanished after insert`);
    return stored;
  }

  async function setStatus(id: string, status: OrderStatus, reason: string | null = null): Promise<void> {
    await pool.query(`UPDATE orders SET status = $2, status_reason = $3, updated_at = now() WHERE id = $1`, [id, status, reason]);
  }

  return { find, create, setStatus };
}

export type OrdersRepo = ReturnType<typeof createOrdersRepo>;
