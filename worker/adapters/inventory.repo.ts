/**
 * Stock in PostgreSQL. Only the Inventory virtual object calls the writers, one call at a time per
 * SKU; each write is also keyed by (order, sku) so a replayed reservation changes nothing.
 */
import type pg from "pg";
import { inTransaction } from "../../shared/pg-transaction.ts";

export interface ReservationResult {
  reserved: boolean;
  /** Units left for sale after this call. */
  stock: number;
}

export function createInventoryRepo(pool: pg.Pool) {
  async function stockOf(c: pg.ClientBase | pg.Pool, sku: string): Promise<number> {
    const r = await c.query(`SELECT stock FROM products WHERE sku = $1`, [sku]);
    return r.rows[0] ? Number(r.rows[0].stock) : 0;
  }

  async function reserve(sku: string, orderId: string, quantity: number): Promise<ReservationResult> {
    return inTransaction(pool, async (c) => {
      const existing = await c.query(`SELECT status FROM stock_reservations WHERE order_id = $1 AND sku = $2 FOR UPDATE`, [
        orderId,
        sku,
      ]);
      if (existing.rows[0]) return { reserved: existing.rows[0].status === "reserved", stock: await stockOf(c, sku) };
      const taken = await c.query(
        `UPDATE products SET stock = stock - $2, updated_at = now() WHERE sku = $1 AND stock >= $2 RETURNING stock`,
        [sku, quantity],
      );
      if (taken.rowCount === 0) return { reserved: false, stock: await stockOf(c, sku) };
      await c.query(`INSERT INTO stock_reservations (order_id, sku, quantity) VALUES ($1, $2, $3)`, [orderId, sku, quantity]);
      return { reserved: true, stock: Number(taken.rows[0].stock) };
    });
  }

  async function release(sku: string, orderId: string): Promise<{ released: boolean; stock: number }> {
    return inTransaction(pool, async (c) => {
      const r = await c.query(
        `UPDATE stock_reservations SET status = 'released', released_at = now()
          WHERE order_id = $1 AND sku = $2 AND status = 'reserved' RETURNING quantity`,
        [orderId, sku],
      );
      if (r.rowCount === 0) return { released: false, stock: await stockOf(c, sku) };
      const s = await c.query(`UPDATE products SET stock = stock + $2, updated_at = now() WHERE sku = $1 RETURNING stock`, [
        sku,
        r.rows[0].quantity,
      ]);
      return { released: true, stock: Number(s.rows[0].stock) };
    });
  }

  async function available(sku: string): Promise<number> {
    return stockOf(pool, sku);
  }

  return { reserve, release, available };
}

export type InventoryRepo = ReturnType<typeof createInventoryRepo>;
