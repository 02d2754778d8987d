/**
 * The numbers on the operator overview, straight from the orders table: orders placed per minute
 * over the last hour, how long fulfilled orders took (p50, per minute and over the hour), and how
 * many orders are in each status. Read-only; writes belong to the worker.
 *
 * Cost at 100,000 orders and more: the per-minute series is one range scan of the last hour on
 * orders_created_id_idx; the completion times one range scan of the hour's completions on the
 * partial orders_fulfilled_at_idx (migration 013); the counts by status read the whole table once
 * (or orders_status_idx), which is why the live view recomputes them at most every few seconds.
 */
import type pg from "pg";

export interface OverviewMinute {
  /** The minute's start, ISO 8601. */
  minute: string;
  orders: number;
  /** Median seconds from placing to fulfilment of the orders fulfilled in that minute (null: none). */
  p50Seconds: number | null;
}

export interface OpsOverview {
  /** Sixty minutes, oldest first, the current (partial) minute last; empty minutes count zero. */
  minutes: OverviewMinute[];
  /** Median seconds from placing to fulfilment over the hour, and how many orders it is taken over. */
  p50Seconds: number | null;
  completed: number;
  /** Orders per status, all time, most first. */
  byStatus: Array<{ status: string; count: number }>;
  /** When the numbers were read (the database's clock). */
  asOf: string;
}

// Completion time is updated_at − created_at of fulfilled orders: the fulfil step writes
// updated_at, and nothing writes a fulfilled order after it. There is no separate completion
// column; refunded orders leave the figure (their updated_at is the refund's time).
const SERIES = `
  WITH window_start AS (SELECT date_trunc('minute', now()) - interval '59 minutes' AS t),
  placed AS (
    SELECT date_trunc('minute', created_at) AS minute, count(*)::int AS n
      FROM orders, window_start WHERE created_at >= window_start.t GROUP BY 1
  ),
  completed AS (
    SELECT date_trunc('minute', updated_at) AS minute,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM updated_at - created_at)) AS p50
      FROM orders, window_start WHERE status = 'fulfilled' AND updated_at >= window_start.t GROUP BY 1
  )
  SELECT m.minute, coalesce(p.n, 0) AS orders, c.p50
    FROM window_start, generate_series(window_start.t, window_start.t + interval '59 minutes', interval '1 minute') AS m(minute)
    LEFT JOIN placed p USING (minute) LEFT JOIN completed c USING (minute)
   ORDER BY m.minute`;

const HOUR_P50 = `
  SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM updated_at - created_at)) AS p50,
         count(*)::int AS completed, now() AS as_of
    FROM orders WHERE status = 'fulfilled' AND updated_at >= date_trunc('minute', now()) - interval '59 minutes'`;

const BY_STATUS = `SELECT status, count(*)::int AS n FROM orders GROUP BY status ORDER BY n DESC, status`;

// Rows as pg returns them: count(*)::int as number, percentile_cont (double precision) as number,
// timestamptz as Date.
interface MinuteRow {
  minute: Date;
  orders: number;
  p50: number | null;
}
interface HourRow {
  p50: number | null;
  completed: number;
  as_of: Date;
}
interface StatusRow {
  status: string;
  n: number;
}

const seconds = (v: unknown): number | null => (v === null || v === undefined ? null : Math.round(Number(v) * 10) / 10);

export function createOpsOverviewRepo(pool: pg.Pool) {
  async function overview(): Promise<OpsOverview> {
    const [series, hour, statuses] = await Promise.all([
      pool.query<MinuteRow>(SERIES),
      pool.query<HourRow>(HOUR_P50),
      pool.query<StatusRow>(BY_STATUS),
    ]);
    const summary: Partial<HourRow> = hour.rows[0] ?? {};
    return {
      minutes: series.rows.map((r) => ({
        minute: new Date(r.minute).toISOString(),
        orders: Number(r.orders),
        p50Seconds: seconds(r.p50),
      })),
      p50Seconds: seconds(summary.p50),
      completed: Number(summary.completed ?? 0),
      byStatus: statuses.rows.map((r) => ({ status: String(r.status), count: Number(r.n) })),
      asOf: new Date(summary.as_of ?? Date.now()).toISOString(),
    };
  }

  return { overview };
}
export type OpsOverviewRepo = ReturnType<typeof createOpsOverviewRepo>;
