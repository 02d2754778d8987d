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

  // One statement: take the units unless this order already holds a reservation for the SKU, and
  // record the reservation. The statement is atomic, so a stale attempt running beside a retried one
  // trips the (order, sku) key and changes nothing; its retry then finds the reservation.
  const RESERVE = `
    WITH prior AS (
      SELECT status FROM stock_reservations WHERE order_id = $2 AND sku = $1
    ), taken AS (
      UPDATE products SET stock = stock - $3, updated_at = now()
       WHERE sku = $1 AND stock >= $3 AND NOT EXISTS (SELECT 1 FROM prior)
      RETURNING stock
    ), held AS (
      INSERT INTO stock_reservations (order_id, sku, quantity) SELECT $2, $1, $3 FROM taken
    )
    SELECT (SELECT status FROM prior) AS prior, (SELECT stock FROM taken) AS taken,
           (SELECT stock FROM products WHERE sku = $1) AS stock`;

  async function reserve(sku: string, orderId: string, quantity: number): Promise<ReservationResult> {
    const r = await pool.query(RESERVE, [sku, orderId, quantity]);
    const row = r.rows[0] as { prior: string | null; taken: number | null; stock: number | null };
    if (row.taken !== null) return { reserved: true, stock: Number(row.taken) };
    return { reserved: row.prior === "reserved", stock: Number(row.stock ?? 0) };
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
