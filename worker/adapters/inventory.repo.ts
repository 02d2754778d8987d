/**
 * Stock in PostgreSQL. Only the Inventory virtual object calls the writers, one call at a time per
 * SKU; each write is also keyed (a reservation by (order, sku), a movement by its idempotency id)
 * so a replayed call changes nothing.
 */
import type pg from "pg";
import { inTransaction } from "../../shared/pg-transaction.ts";
import type { StockMovementInput } from "../../shared/stock-movement.schema.ts";
import { PermanentError } from "../errors.ts";

export interface ReservationResult {
  reserved: boolean;
  /** Units left for sale after this call. */
  stock: number;
}

export interface StockMovementResult {
  /** False when this movement id was recorded before: the earlier movement's figures are returned. */
  applied: boolean;
  delta: number;
  /** Units for sale right after the movement. */
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

  // One statement, like RESERVE: move the stock and record the movement unless this movement id was
  // recorded before. A stale attempt beside a retried one trips the unique id and changes nothing.
  const MOVE = `
    WITH prior AS (
      SELECT sku, delta, stock_after FROM stock_movements WHERE idempotency_id = $1
    ), cur AS (
      SELECT stock FROM products WHERE sku = $2 FOR UPDATE
    ), moved AS (
      UPDATE products p SET stock = COALESCE($4::int, cur.stock + $3::int), updated_at = now()
        FROM cur
       WHERE p.sku = $2 AND NOT EXISTS (SELECT 1 FROM prior) AND COALESCE($4::int, cur.stock + $3::int) >= 0
      RETURNING p.stock AS after, cur.stock AS before
    ), recorded AS (
      INSERT INTO stock_movements (idempotency_id, sku, kind, delta, stock_after, reason, operator)
      SELECT $1, $2, $5, after - before, after, $6, $7 FROM moved
      RETURNING delta, stock_after
    )
    SELECT (SELECT sku FROM prior) AS prior_sku, (SELECT delta FROM prior) AS prior_delta,
           (SELECT stock_after FROM prior) AS prior_stock,
           (SELECT delta FROM recorded) AS delta, (SELECT stock_after FROM recorded) AS stock,
           EXISTS (SELECT 1 FROM cur) AS known`;

  async function move(sku: string, req: StockMovementInput): Promise<StockMovementResult> {
    const { change } = req;
    const r = await pool.query(MOVE, [
      req.movementId,
      sku,
      change.kind === "restock" ? change.units : 0,
      change.kind === "correction" ? change.count : null,
      change.kind,
      req.reason,
      req.operator,
    ]);
    const row = r.rows[0] as {
      prior_sku: string | null;
      prior_delta: number | null;
      prior_stock: number | null;
      delta: number | null;
      stock: number | null;
      known: boolean;
    };
    if (row.prior_sku !== null) {
      if (row.prior_sku !== sku) throw new PermanentError("movement_id_reused", "That movement id was used for another product");
      return { applied: false, delta: Number(row.prior_delta), stock: Number(row.prior_stock) };
    }
    if (!row.known) throw new PermanentError("unknown_sku", `Unknown product: ${sku}`);
    if (row.delta === null) throw new PermanentError("negative_stock", "Stock cannot go below zero");
    return { applied: true, delta: Number(row.delta), stock: Number(row.stock) };
  }

  async function available(sku: string): Promise<number> {
    return stockOf(pool, sku);
  }

  return { reserve, release, move, available };
}

export type InventoryRepo = ReturnType<typeof createInventoryRepo>;
