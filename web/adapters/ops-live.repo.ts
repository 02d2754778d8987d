/**
 * The order rows an operator's live view re-renders when orders move: the orders that changed (by
 * primary key), the newest orders (the first page of the list) and those awaiting approval.
 * Read-only; writes belong to the worker.
 */
import type pg from "pg";

export interface OpsOrderRow {
  id: string;
  email: string;
  totalCents: number;
  currency: string;
  status: string;
  statusReason: string | null;
  invocationId: string | null;
  createdAt: string;
  /** The operator who approved it, when one did. */
  approvedBy: string | null;
}

/** An order's last write, in microseconds since the epoch (PostgreSQL's precision). */
export interface OrderMove {
  id: string;
  updatedUs: number;
}

const UPDATED_US = "floor(extract(epoch FROM updated_at) * 1000000)::float8 AS updated_us";
const COLUMNS = `id, email, total_cents, currency, status, status_reason, invocation_id, created_at,
  CASE WHEN approval_decision = 'approved' THEN approval_decided_by END AS approved_by,
  ${UPDATED_US} FROM orders`;

function toRow(o: Record<string, unknown>): OpsOrderRow & OrderMove {
  return {
    id: String(o.id),
    email: String(o.email),
    totalCents: Number(o.total_cents),
    currency: String(o.currency).trim(),
    status: String(o.status),
    statusReason: typeof o.status_reason === "string" ? o.status_reason : null,
    invocationId: typeof o.invocation_id === "string" ? o.invocation_id : null,
    createdAt: new Date(o.created_at as Date).toISOString(),
    approvedBy: typeof o.approved_by === "string" ? o.approved_by : null,
    updatedUs: Number(o.updated_us),
  };
}

export function createOpsLiveRepo(pool: pg.Pool) {
  /** These orders, in no particular order (the primary key: one batch of changed orders). */
  async function byIds(ids: readonly string[]): Promise<(OpsOrderRow & OrderMove)[]> {
    if (ids.length === 0) return [];
    const r = await pool.query(`SELECT ${COLUMNS} WHERE id = ANY($1::uuid[])`, [ids]);
    return r.rows.map(toRow);
  }

  /** The newest orders first (orders_created_id_idx). */
  async function newest(limit: number): Promise<(OpsOrderRow & OrderMove)[]> {
    const r = await pool.query(`SELECT ${COLUMNS} ORDER BY created_at DESC LIMIT $1`, [limit]);
    return r.rows.map(toRow);
  }

  /** Orders waiting for an operator's decision, newest first (orders_status_idx). */
  async function awaitingApproval(limit: number): Promise<OpsOrderRow[]> {
    const r = await pool.query(`SELECT ${COLUMNS} WHERE status = 'awaiting_approval' ORDER BY created_at DESC LIMIT $1`, [limit]);
    return r.rows.map(toRow);
  }

  /**
   * The orders written since `sinceUs` (none when null), and the database's clock at the read, both
   * in microseconds (orders_updated_at_idx). Narrow: the rows themselves are read by `byIds`.
   */
  async function movedSince(sinceUs: number | null): Promise<{ moves: OrderMove[]; readUs: number }> {
    const r = await pool.query(
      `SELECT floor(extract(epoch FROM t.read_at) * 1000000)::float8 AS read_us, o.id, o.updated_us
         FROM (SELECT now() AS read_at) t
         LEFT JOIN LATERAL (
           SELECT id, ${UPDATED_US} FROM orders WHERE updated_at >= to_timestamp($1::float8 / 1000000)
         ) o ON true`,
      [sinceUs],
    );
    const rows = r.rows as { read_us: number; id: string | null; updated_us: number | null }[];
    const moves = rows.flatMap((o) => (o.id === null ? [] : [{ id: o.id, updatedUs: Number(o.updated_us) }]));
    return { moves, readUs: Number(rows[0]?.read_us) };
  }

  return { byIds, newest, awaitingApproval, movedSince };
}
export type OpsLiveRepo = ReturnType<typeof createOpsLiveRepo>;
