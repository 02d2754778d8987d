/** Reads one order with its lines: the worker after saving it, the web to show it. */
import type pg from "pg";
import type { OrderLine, OrderStatus } from "./order.schema.ts";

export interface OrderRecordLine extends OrderLine {
  name: string;
  unitPriceCents: number;
}

export interface OrderRecord {
  id: string;
  email: string;
  paymentMethod: string;
  totalCents: number;
  currency: string;
  status: OrderStatus;
  statusReason: string | null;
  invocationId: string | null;
  createdAt: string;
  /** The provider's payment page while the order waits for payment (Stripe Checkout), else null. */
  paymentUrl?: string | null;
  lines: OrderRecordLine[];
}

/** An `orders` row as pg returns it (integer as number, timestamptz as Date, char(3) padded). */
export interface OrderRow {
  id: string;
  email: string;
  payment_method: string;
  total_cents: number;
  currency: string;
  /** text with no CHECK: the worker writes only OrderStatus values. */
  status: OrderStatus;
  status_reason: string | null;
  invocation_id: string | null;
  created_at: Date;
  payment_url: string | null;
}

interface OrderLineRow {
  sku: string;
  quantity: number;
  unit_price_cents: number;
  name: string;
}

export async function readOrder(db: pg.Pool | pg.PoolClient, id: string): Promise<OrderRecord | null> {
  const o = await db.query<OrderRow>(
    `SELECT id, email, payment_method, total_cents, currency, status, status_reason, invocation_id, created_at, payment_url
       FROM orders WHERE id = $1`,
    [id],
  );
  const row = o.rows[0];
  if (!row) return null;
  const l = await db.query<OrderLineRow>(
    `SELECT l.sku, l.quantity, l.unit_price_cents, p.name
       FROM order_lines l JOIN products p USING (sku) WHERE l.order_id = $1 ORDER BY p.name`,
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
    createdAt: row.created_at.toISOString(),
    paymentUrl: row.payment_url ?? null,
    lines: l.rows.map((r) => ({ sku: r.sku, quantity: r.quantity, unitPriceCents: r.unit_price_cents, name: r.name })),
  };
}
