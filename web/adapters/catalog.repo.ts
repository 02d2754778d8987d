/** Read-only views of the catalog and of orders, for pages. Writes belong to the worker. */
import type pg from "pg";

export interface Product {
  sku: string;
  name: string;
  description: string;
  priceCents: number;
  currency: string;
  stock: number;
}

export interface OrderView {
  id: string;
  email: string;
  totalCents: number;
  currency: string;
  status: string;
  statusReason: string | null;
  invocationId: string | null;
  createdAt: string;
  lines: Array<{ sku: string; name: string; quantity: number; unitPriceCents: number }>;
}

export function createCatalogRepo(pool: pg.Pool) {
  async function listProducts(): Promise<Product[]> {
    const r = await pool.query(`SELECT sku, name, description, price_cents, currency, stock FROM products ORDER BY name`);
    return r.rows.map((p) => ({
      sku: p.sku,
      name: p.name,
      description: p.description,
      priceCents: p.price_cents,
      currency: p.currency.trim(),
      stock: p.stock,
    }));
  }

  async function findOrder(id: string): Promise<OrderView | null> {
    const o = await pool.query(
      `SELECT id, email, total_cents, currency, status, status_reason, invocation_id, created_at FROM orders WHERE id = $1`,
      [id],
    );
    const row = o.rows[0];
    if (!row) return null;
    const l = await pool.query(
      `SELECT l.sku, p.name, l.quantity, l.unit_price_cents FROM order_lines l JOIN products p USING (sku)
        WHERE l.order_id = $1 ORDER BY p.name`,
      [id],
    );
    return {
      id: row.id,
      email: row.email,
      totalCents: row.total_cents,
      currency: row.currency.trim(),
      status: row.status,
      statusReason: row.status_reason,
      invocationId: row.invocation_id,
      createdAt: new Date(row.created_at).toISOString(),
      lines: l.rows.map((x) => ({ sku: x.sku, name: x.name, quantity: x.quantity, unitPriceCents: x.unit_price_cents })),
    };
  }

  return { listProducts, findOrder };
}
export type CatalogRepo = ReturnType<typeof createCatalogRepo>;
