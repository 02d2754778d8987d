/**
 * Stock in PostgreSQL: the one module that changes `products.stock`. Every change is one
 * conditional statement that also writes its record (a reservation row per order line, or a
 * stock movement row), so stock and its record never disagree, and each is idempotent on its key:
 *   reservation   all lines of an order or none, as part of the statement that stores the order
 *                 (`reservationCtes`, used by orders.repo.ts `place`); refuses, in the statement,
 *                 to take more than is left (idempotent per order: a second call reports the first)
 *   releaseOrder  gives an order's held units back (idempotent per order)
 *   move          an operator's restock or correction (idempotent per movement id)
 * No lock is held between statements and none across the network: a popular product is one row
 * lock held for one statement, not a queue of calls (docs/design.md, "Stock").
 */
import type pg from "pg";
import type { StockMovementInput, StockMovementResult } from "../../shared/stock-movement.schema.ts";
import { PermanentError } from "../errors.ts";

export type OrderReservation =
  | { reserved: true }
  /** `short`: the SKUs with fewer units left than the order asked for. */
  | { reserved: false; short: string[] };

/**
 * The reservation as common table expressions, for a statement that defines `wanted (sku,
 * quantity)` before them and selects `reservationColumns` after them. `order` is the SQL for the
 * order's id; `when` a condition that must hold for anything to be taken (the order being stored by
 * the same statement, say). The order's products are locked in SKU order (two orders sharing
 * products never wait on each other in a cycle), then either every line is taken and its
 * reservation row written, or nothing is. A retried call finds the order's reservations and takes
 * nothing; a stale attempt running beside its retry trips the reservations' (order, sku) key and
 * the whole statement rolls back. The products.stock >= 0 check is the last guard against
 * overselling. An order the stock as last committed cannot fill is refused without taking any
 * lock: once a product has sold out, its buyers no longer queue on its row (a flash sale's
 * refusals are reads). The lock is FOR NO KEY UPDATE: it orders the reservations of one product
 * without blocking the key-share locks an order's lines take on their products.
 */
export function reservationCtes(order: string, when = "TRUE"): string {
  return `prior AS (
      SELECT status FROM stock_reservations WHERE order_id = ${order}
    ), seen_short AS (
      SELECT w.sku FROM wanted w LEFT JOIN products p ON p.sku = w.sku WHERE p.stock IS NULL OR p.stock < w.quantity
    ), locked AS (
      SELECT sku, stock FROM products
       WHERE sku IN (SELECT sku FROM wanted) AND NOT EXISTS (SELECT 1 FROM prior) AND NOT EXISTS (SELECT 1 FROM seen_short)
         AND ${when}
       ORDER BY sku FOR NO KEY UPDATE
    ), short AS (
      SELECT sku FROM seen_short
      UNION
      SELECT w.sku FROM wanted w LEFT JOIN locked l ON l.sku = w.sku
       WHERE NOT EXISTS (SELECT 1 FROM seen_short) AND (l.stock IS NULL OR l.stock < w.quantity)
    ), taken AS (
      UPDATE products p SET stock = p.stock - w.quantity, updated_at = now()
        FROM wanted w
       WHERE p.sku = w.sku AND NOT EXISTS (SELECT 1 FROM prior) AND NOT EXISTS (SELECT 1 FROM short) AND ${when}
      RETURNING p.sku
    ), held AS (
      INSERT INTO stock_reservations (order_id, sku, quantity)
      SELECT ${order}, w.sku, w.quantity FROM wanted w JOIN taken t ON t.sku = w.sku
    )`;
}

/** What `reservationCtes` tells, as columns of the statement's result. */
export const reservationColumns = `(SELECT count(*) FROM prior)::int AS prior_lines,
           (SELECT count(*) FROM prior WHERE status = 'reserved')::int AS prior_held,
           (SELECT count(*) FROM taken)::int AS taken,
           (SELECT coalesce(array_agg(sku ORDER BY sku), '{}') FROM short) AS short`;

export interface ReservationRow {
  prior_lines: number;
  prior_held: number;
  taken: number;
  short: string[];
}

/**
 * The outcome of a statement with `reservationCtes` for an order of `lines` lines. A refusal is
 * checked once more: a stale attempt of this same order may have taken the units after the
 * statement's snapshot was made (while it waited for the products' locks, or after a restock it
 * did not see), and the order must not be refused while its units stay held.
 */
export async function reservationOutcome(
  db: Pick<pg.Pool, "query">,
  orderId: string,
  lines: number,
  row: ReservationRow,
): Promise<OrderReservation> {
  // Reserved before (a retried step): held then, unless it was released since.
  if (row.prior_lines > 0) return row.prior_held === lines ? { reserved: true } : { reserved: false, short: [] };
  if (row.taken === lines) return { reserved: true };
  const again = await db.query<{ held: number; lines: number }>(
    `SELECT count(*) FILTER (WHERE status = 'reserved')::int AS held, count(*)::int AS lines FROM stock_reservations WHERE order_id = $1`,
    [orderId],
  );
  // An aggregate without GROUP BY returns its one row.
  const now = again.rows[0]!;
  if (now.lines > 0) return now.held === lines ? { reserved: true } : { reserved: false, short: [] };
  return { reserved: false, short: row.short };
}

/** The row MOVE returns: the earlier movement with this id, or this one (nulls for what did not happen). */
interface MoveRow {
  prior_sku: string | null;
  prior_delta: number | null;
  prior_stock: number | null;
  delta: number | null;
  stock: number | null;
  known: boolean;
}

export function createStockRepo(pool: pg.Pool) {
  // One statement: the order's held reservations become released and their units go back. A second
  // call finds nothing held and changes nothing.
  const RELEASE_ORDER = `
    WITH released AS (
      UPDATE stock_reservations SET status = 'released', released_at = now()
       WHERE order_id = $1 AND status = 'reserved'
      RETURNING sku, quantity
    )
    UPDATE products p SET stock = p.stock + r.quantity, updated_at = now()
      FROM released r WHERE p.sku = r.sku
    RETURNING p.sku`;

  /** Gives an order's held units back; the number of lines released (0 when none were held). */
  async function releaseOrder(orderId: string): Promise<number> {
    const r = await pool.query(RELEASE_ORDER, [orderId]);
    return r.rowCount ?? 0;
  }

  // One statement, like RESERVE_ORDER: move the stock and record the movement unless this movement id was
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
    const r = await pool.query<MoveRow>(MOVE, [
      req.movementId,
      sku,
      change.kind === "restock" ? change.units : 0,
      change.kind === "correction" ? change.count : null,
      change.kind,
      req.reason,
      req.operator,
    ]);
    // A SELECT without FROM returns its one row.
    const row = r.rows[0]!;
    if (row.prior_sku !== null) {
      if (row.prior_sku !== sku) throw new PermanentError("movement_id_reused", "That movement id was used for another product");
      return { applied: false, delta: Number(row.prior_delta), stock: Number(row.prior_stock) };
    }
    if (!row.known) throw new PermanentError("unknown_sku", `Unknown product: ${sku}`);
    if (row.delta === null) throw new PermanentError("negative_stock", "Stock cannot go below zero");
    return { applied: true, delta: Number(row.delta), stock: Number(row.stock) };
  }

  return { releaseOrder, move };
}

export type StockRepo = ReturnType<typeof createStockRepo>;
