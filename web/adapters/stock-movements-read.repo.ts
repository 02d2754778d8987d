/** Read-only view of the stock movements operators made, for `/ops/stock`. Writes belong to the worker. */
import type pg from "pg";

export interface StockMovementView {
  movementId: string;
  sku: string;
  productName: string;
  kind: "restock" | "correction";
  delta: number;
  stockAfter: number;
  reason: string;
  operator: string;
  createdAt: string;
}

const COLUMNS = `m.idempotency_id, m.sku, p.name, m.kind, m.delta, m.stock_after, m.reason, m.operator, m.created_at
  FROM stock_movements m JOIN products p USING (sku)`;

/** A row of COLUMNS; `kind` is held to these values by the table's CHECK. */
interface MovementRow {
  idempotency_id: string;
  sku: string;
  name: string;
  kind: StockMovementView["kind"];
  delta: number;
  stock_after: number;
  reason: string;
  operator: string;
  created_at: Date;
}

function toView(r: MovementRow): StockMovementView {
  return {
    movementId: r.idempotency_id,
    sku: r.sku,
    productName: r.name,
    kind: r.kind,
    delta: r.delta,
    stockAfter: r.stock_after,
    reason: r.reason,
    operator: r.operator,
    createdAt: r.created_at.toISOString(),
  };
}

export function createStockMovementsReadRepo(pool: pg.Pool) {
  /** The newest movements first (the list under the stock table). */
  async function recent(limit = 20): Promise<StockMovementView[]> {
    const r = await pool.query<MovementRow>(`SELECT ${COLUMNS} ORDER BY m.created_at DESC, m.id DESC LIMIT $1`, [limit]);
    return r.rows.map(toView);
  }

  async function find(movementId: string): Promise<StockMovementView | null> {
    const r = await pool.query<MovementRow>(`SELECT ${COLUMNS} WHERE m.idempotency_id = $1`, [movementId]);
    return r.rows[0] ? toView(r.rows[0]) : null;
  }

  /** This operator's newest movement of this product in the last `withinSeconds`, or null. */
  async function lastBy(operator: string, sku: string, withinSeconds: number): Promise<StockMovementView | null> {
    const r = await pool.query<MovementRow>(
      `SELECT ${COLUMNS} WHERE m.operator = $1 AND m.sku = $2 AND m.created_at > now() - make_interval(secs => $3)
        ORDER BY m.created_at DESC, m.id DESC LIMIT 1`,
      [operator, sku, withinSeconds],
    );
    return r.rows[0] ? toView(r.rows[0]) : null;
  }

  return { recent, find, lastBy };
}
export type StockMovementsReadRepo = ReturnType<typeof createStockMovementsReadRepo>;
