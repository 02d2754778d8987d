/**
 * Read-only: what operators did, newest first, for `/ops/decisions`. Three tables hold it, each
 * written where the act happens: `operator_decisions` (approve, reject, cancel, ship now: the web
 * records them before asking the workflow), `order_refunds` and `stock_movements` (the worker's
 * objects). A page reads each table's newest rows past the cursor by keyset (one index range each,
 * migration 014) and merges them, so a page costs the same at the first decision or the millionth.
 */
import type pg from "pg";

export type DecisionKind = "approve" | "reject" | "cancel" | "dispatch" | "refund" | "restock" | "correction";
export type DecisionOutcome = "requested" | "accepted" | "refused" | "unknown";

export interface DecisionView {
  at: string;
  operator: string;
  kind: DecisionKind;
  /** The order acted on (decisions and refunds), or null for a stock movement. */
  orderId: string | null;
  /** The product a stock movement changed. */
  sku: string | null;
  productName: string | null;
  outcome: DecisionOutcome;
  reason: string | null;
  delta: number | null;
  amountCents: number | null;
  currency: string | null;
}

/**
 * Where a page starts: the row's time in µs since the epoch (exact, as in the order list), its
 * table (`d`, `m` or `r`) and its key there. Rows are ordered by time, then table, then key.
 */
export interface DecisionCursor {
  atMicros: string;
  source: "d" | "m" | "r";
  key: string;
}

export interface DecisionPage {
  decisions: DecisionView[];
  next: DecisionCursor | null;
  previous: DecisionCursor | null;
}

const CURSOR = /^(\d{1,17})\.(?:([dm])\.(\d{1,19})|(r)\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}))$/;

export function encodeDecisionCursor(c: DecisionCursor): string {
  return `${c.atMicros}.${c.source}.${c.key}`;
}

/** A cursor from a page link, or null when the link was not one of ours. */
export function parseDecisionCursor(raw: string): DecisionCursor | null {
  const m = CURSOR.exec(raw);
  if (!m) return null;
  return m[2] ? { atMicros: m[1]!, source: m[2] as "d" | "m", key: m[3]! } : { atMicros: m[1]!, source: "r", key: m[5]! };
}

interface Source {
  code: DecisionCursor["source"];
  table: string;
  keyColumn: string;
  keyType: "bigint" | "uuid";
  /** The select list, in the order of the union's columns after src, key, created_at. */
  columns: string;
  from: string;
}

// Sorted by code: the union is ordered time, then code, then key.
const SOURCES: readonly Source[] = [
  {
    code: "d",
    table: "d",
    keyColumn: "id",
    keyType: "bigint",
    columns: `d.operator, d.action, d.order_id, NULL::text, NULL::text, d.outcome, d.reason, NULL::int, NULL::int, NULL::text`,
    from: "operator_decisions d",
  },
  {
    code: "m",
    table: "m",
    keyColumn: "id",
    keyType: "bigint",
    columns: `m.operator, m.kind, NULL::uuid, m.sku, p.name, 'accepted', m.reason, m.delta, NULL::int, NULL::text`,
    from: "stock_movements m JOIN products p USING (sku)",
  },
  {
    code: "r",
    table: "r",
    keyColumn: "order_id",
    keyType: "uuid",
    columns: `r.operator, 'refund', r.order_id, NULL::text, NULL::text, 'accepted', r.reason, NULL::int, r.amount_cents, btrim(r.currency)`,
    from: "order_refunds r",
  },
];

/**
 * The SQL of one page: each table's rows past the cursor, newest first (oldest first for a
 * previous page), a page and one more from each, merged. The conditions are fixed SQL; only their
 * values are parameters. Exported for the test that reads its plans.
 */
export function decisionPageQuery(
  page: { after?: DecisionCursor | undefined; before?: DecisionCursor | undefined },
  pageSize: number,
): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const param = (v: unknown) => `$${values.push(v)}`;
  const cursor = page.after ?? page.before;
  const older = !page.before;
  const dir = older ? "DESC" : "ASC";
  const past = older ? "<" : ">";
  const limit = param(pageSize + 1);
  const at = cursor ? `('epoch'::timestamptz + ${param(cursor.atMicros)}::bigint * interval '1 microsecond')` : "";
  const branches = SOURCES.map((s) => {
    const created = `${s.table}.created_at`;
    const key = `${s.table}.${s.keyColumn}`;
    let where = "";
    if (cursor) {
      // Past the cursor in (time, table, key) order, said as a range of this table's own index.
      if (s.code === cursor.source) where = `WHERE (${created}, ${key}) ${past} (${at}, ${param(cursor.key)}::${s.keyType})`;
      else if (s.code < cursor.source === older) where = `WHERE ${created} ${past}= ${at}`;
      else where = `WHERE ${created} ${past} ${at}`;
    }
    const sortKey = s.keyType === "bigint" ? `lpad(${key}::text, 20, '0')` : `${key}::text`;
    return `(SELECT '${s.code}'::text AS src, ${sortKey} AS key, ${created} AS created_at, ${s.columns}
       FROM ${s.from} ${where} ORDER BY ${created} ${dir}, ${key} ${dir} LIMIT ${limit})`;
  });
  const text = `SELECT u.*, (extract(epoch FROM u.created_at) * 1000000)::bigint::text AS created_us FROM (
       ${branches.join("\n       UNION ALL ")}
     ) AS u (src, key, created_at, operator, kind, order_id, sku, product_name, outcome, reason, delta, amount_cents, currency)
     ORDER BY u.created_at ${dir}, u.src ${dir}, u.key COLLATE "C" ${dir} LIMIT ${limit}`;
  return { text, values };
}

/**
 * A row of `decisionPageQuery`, as the union names its columns. `kind` and `outcome` are held to
 * these values by each table's CHECK (or are literals in the select list).
 */
interface DecisionRow {
  src: DecisionCursor["source"];
  /** The table's key as text (a bigint zero-padded so keys sort as text). */
  key: string;
  created_at: Date;
  created_us: string;
  operator: string;
  kind: DecisionKind;
  order_id: string | null;
  sku: string | null;
  product_name: string | null;
  outcome: DecisionOutcome;
  reason: string | null;
  delta: number | null;
  amount_cents: number | null;
  currency: string | null;
}

const toView = (r: DecisionRow): DecisionView => ({
  at: r.created_at.toISOString(),
  operator: r.operator,
  kind: r.kind,
  orderId: r.order_id,
  sku: r.sku,
  productName: r.product_name,
  outcome: r.outcome,
  reason: r.reason,
  delta: r.delta,
  amountCents: r.amount_cents,
  currency: r.currency,
});

const cursorOf = (r: DecisionRow | undefined): DecisionCursor | null =>
  r ? { atMicros: r.created_us, source: r.src, key: r.src === "r" ? r.key : String(BigInt(r.key)) } : null;

export function createOperatorDecisionsReadRepo(pool: pg.Pool) {
  /** One page of what operators did, as the order list pages: `after` older rows, `before` newer ones. */
  async function page(
    q: { after?: DecisionCursor | undefined; before?: DecisionCursor | undefined },
    pageSize: number,
  ): Promise<DecisionPage> {
    const r = await pool.query<DecisionRow>(decisionPageQuery(q, pageSize));
    const more = r.rows.length > pageSize;
    // Going back with no more than a page of newer rows left: that is the first page, shown whole.
    if (q.before && !more) return page({}, pageSize);
    const rows = q.before ? r.rows.slice(0, pageSize).reverse() : r.rows.slice(0, pageSize);
    return {
      decisions: rows.map(toView),
      next: q.before || more ? cursorOf(rows.at(-1)) : null,
      previous: q.after ? (cursorOf(rows[0]) ?? q.after) : q.before ? cursorOf(rows[0]) : null,
    };
  }
  return { page };
}
export type OperatorDecisionsReadRepo = ReturnType<typeof createOperatorDecisionsReadRepo>;
