/**
 * Scenario 5: a flash sale. Many buyers want one product of which only a few units are left: each
 * buyer places one order for one unit through the form and follows the order's stream until its
 * terminal event. Exactly as many orders as there are units must be fulfilled, every other buyer
 * must be refused with the sold-out message, and no unit may be sold twice.
 *
 *   hot     every buyer orders the same product, set to UNITS units
 *   spread  the same buyers at the same concurrency, round-robin over K products holding UNITS
 *           units between them, so the mix of fulfilled and refused orders is the same
 *
 * Both run after a smaller sale shaped like the spread one (a fifth of the buyers and units), so the
 * first measured phase does not pay for a cold start. The two throughputs side by side show what a
 * popular product costs (the target: none, hot ≥ 0.9× spread). Each buyer's stream gives the
 * outcome the buyer saw; the order rows in PostgreSQL give the classification and, with the
 * reservations and products.stock, the oversell check. The products' stock is put back as it was
 * found once both phases are over.
 */
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { v7 as uuidv7 } from "uuid";
import { withCpu } from "./cpu.ts";
import { newSession, sseUntil, type WebSession } from "./http.ts";
import { query as restateQuery } from "./order-account.ts";
import { postOrder, type Targets } from "./orders.scenario.ts";
import { summarize, type Summary } from "./stats.ts";

export interface FlashOptions {
  targets: Targets;
  databaseUrl: string;
  adminUrl: string;
  buyers: number;
  units: number;
  concurrency: number;
  /** The product every buyer wants in the hot phase. */
  hotSku: string;
  /** The products the spread phase shares the units and buyers over. */
  spreadSkus: string[];
  /** The processes whose CPU is measured during each phase. */
  pids?: () => Record<string, number | undefined>;
  say?: (msg: string) => void;
}

export interface FlashProduct {
  sku: string;
  name: string;
  units: number;
  buyers: number;
  fulfilled: number;
  refused: number;
  /** Units held by reservations still in force, taken during the phase. */
  held: number;
  stockAfter: number;
}

/** PostgreSQL's busy backends while a phase ran, sampled from pg_stat_activity with the stock. */
export interface PgWaits {
  samples: number;
  /** Busy backends on average. */
  active: number;
  /** Busy backends on average by what they waited for ("CPU": not waiting): "Lock:transactionid", "IO:WALSync", … */
  byWait: Record<string, number>;
}

export interface FlashPhase {
  name: "hot" | "spread" | "warm-up";
  products: FlashProduct[];
  buyers: number;
  concurrency: number;
  units: number;
  /** Σ min(buyers, units) over the products: the orders that must be fulfilled. */
  expectedFulfilled: number;
  /** By the order rows: fulfilled; rejected with "Out of stock: <the product>"; anything else. */
  fulfilled: number;
  refused: number;
  other: number;
  /** Anything else, by "status: reason" (or "no order row"). */
  otherReasons: Record<string, number>;
  /** Buyers whose stream reached `done`, and those whose POST or stream failed. */
  streamsEnded: number;
  errors: number;
  firstError?: string;
  /** Buyers whose stream's last state (step and message) says something else than their order row. */
  streamDisagrees: number;
  /** Units held by reservations in force on the phase's products; oversold = held beyond each product's units. */
  held: number;
  oversold: number;
  /** The lowest products.stock seen while the phase ran (polled), and after it. */
  minStockSeen: number;
  stockAfter: number;
  /** First POST → last buyer's stream ended; orders/s over all buyers in that time. */
  seconds: number;
  perSecond: number;
  /** First POST → the last unit's reservation row written (PostgreSQL's created_at): the stock reached 0. */
  soldOutSeconds: number;
  /** Buyers whose stream ended before the stock reached 0, per second; and after it (nearly all refused), per second. */
  untilSoldOutPerSecond: number;
  afterSoldOutPerSecond: number;
  /** First POST → the buyer of the last unit to sell (by the clock) saw its order's fulfilled terminal event. */
  lastFulfilledSeenSeconds: number;
  /** POST → terminal event, per buyer. */
  latency: Summary;
  cpu?: Record<string, number>;
  /** After the last stream ended: until Restate had no more unfinished invocations than before the phase (deferred emails, …). */
  drainSeconds: number;
  pgWaits: PgWaits;
}

export interface FlashResult {
  buyers: number;
  units: number;
  concurrency: number;
  hot: FlashPhase;
  spread: FlashPhase;
  /** hot orders/s ÷ spread orders/s. */
  ratio: number;
  /** What makes the run fail: a wrong number of fulfilled orders, a unit sold twice, stock below 0. */
  failures: string[];
  /** What is reported without failing the run: other outcomes, failed streams, disagreements. */
  warnings: string[];
}

interface Buyer {
  orderId: string;
  sku: string;
  /** performance.now() when its stream ended, and what the stream's last state said. */
  endedAt?: number;
  step?: string;
  message?: string;
  latencyMs?: number;
}

const DRAIN_LIMIT_MS = 180_000;
const STREAM_TIMEOUT_MS = 180_000;

const ENTITIES: Record<string, string> = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'", "&#96;": "`" };
const unescape = (s: string) => s.replace(/&(?:amp|lt|gt|quot|#39|#96);/g, (e) => ENTITIES[e] ?? e);

/** The step and message of the order's progress panel as a progress frame renders it. */
function panelState(data: string): { step?: string; message?: string } {
  const step = /class="progress-panel[^"]*"[^>]*data-step="([^"]*)"/.exec(data)?.[1];
  const message = /<p class="progress-message"[^>]*>(?:<strong>[^<]*<\/strong>)?\s*([^<]*)<\/p>/.exec(data)?.[1];
  return { ...(step !== undefined ? { step } : {}), ...(message !== undefined ? { message: unescape(message).trim() } : {}) };
}

const soldOut = (name: string) => `Out of stock: ${name}`;

/** Invocations Restate has not finished (the orders' emails go on after the buyers' streams ended). */
async function unfinished(adminUrl: string): Promise<number> {
  const rows = await restateQuery<{ n: number }>(
    adminUrl,
    `SELECT count(*) AS n FROM sys_invocation WHERE status <> 'completed'`,
  );
  return Number(rows[0]?.n ?? 0);
}

/** Waits until Restate has no more unfinished invocations than `baseline`; the seconds it took (NaN: unknown). */
async function drain(adminUrl: string, baseline: number): Promise<number> {
  const started = performance.now();
  try {
    while (performance.now() - started < DRAIN_LIMIT_MS) {
      if ((await unfinished(adminUrl)) <= baseline) return (performance.now() - started) / 1000;
      await sleep(250);
    }
    return Number.POSITIVE_INFINITY;
  } catch {
    return NaN;
  }
}

/**
 * Waits until what an earlier scenario left running has finished, or holds steady for a second
 * (something waiting on purpose); the number left, the baseline a phase drains back to.
 */
async function settle(adminUrl: string): Promise<number> {
  const started = performance.now();
  let last = -1;
  let steady = 0;
  try {
    while (performance.now() - started < DRAIN_LIMIT_MS) {
      const n = await unfinished(adminUrl);
      if (n === 0) return 0;
      steady = n === last ? steady + 1 : 0;
      if (steady >= 4) return n;
      last = n;
      await sleep(250);
    }
  } catch {
    // introspection unavailable: the phase's drain says so
  }
  return Math.max(0, last);
}

/** `units` spread over `n` products: the first ones take one more when it does not divide. */
function share(total: number, n: number, i: number): number {
  return Math.floor(total / n) + (i < total % n ? 1 : 0);
}

async function runPhase(
  o: FlashOptions,
  db: pg.Pool,
  sessions: WebSession[],
  name: FlashPhase["name"],
  skus: string[],
  names: Map<string, string>,
  size: { buyers: number; units: number },
): Promise<FlashPhase> {
  const t = o.targets;
  const plan = skus.map((sku, i) => ({
    sku,
    units: share(size.units, skus.length, i),
    buyers: share(size.buyers, skus.length, i),
  }));
  const set = await db.query(
    `UPDATE products p SET stock = u.units, updated_at = now()
       FROM unnest($1::text[], $2::int[]) AS u(sku, units) WHERE p.sku = u.sku RETURNING p.sku`,
    [plan.map((p) => p.sku), plan.map((p) => p.units)],
  );
  if (set.rowCount !== plan.length) throw new Error(`flash sale: ${plan.length} products to set, ${set.rowCount} found`);
  const baseline = await settle(o.adminUrl);

  // The lowest stock seen while the buyers buy (the products.stock >= 0 check should make < 0 impossible),
  // and what PostgreSQL's busy backends are waiting for meanwhile.
  let minStockSeen = Number.POSITIVE_INFINITY;
  const waits = new Map<string, number>();
  let samples = 0;
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const r = await db.query<{ min: number }>(`SELECT min(stock)::int AS min FROM products WHERE sku = ANY($1::text[])`, [
        skus,
      ]);
      minStockSeen = Math.min(minStockSeen, Number(r.rows[0]?.min ?? Number.POSITIVE_INFINITY));
      const busy = await db.query<{ wait: string; n: number }>(
        `SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') AS wait, count(*)::int AS n FROM pg_stat_activity
          WHERE state = 'active' AND datname = current_database() AND pid <> pg_backend_pid() GROUP BY 1`,
      );
      samples++;
      for (const w of busy.rows) waits.set(w.wait, (waits.get(w.wait) ?? 0) + w.n);
      await sleep(25);
    }
  })();

  const buyers: Buyer[] = Array.from({ length: size.buyers }, (_, i) => ({ orderId: uuidv7(), sku: skus[i % skus.length]! }));
  let errors = 0;
  let firstError: string | undefined;
  let next = 0;
  let firstPostWall = NaN;
  const run = async () => {
    firstPostWall = Date.now();
    const started = performance.now();
    await Promise.all(
      sessions.map(async (s) => {
        for (let i = next++; i < buyers.length; i = next++) {
          const b = buyers[i]!;
          const posted = performance.now();
          try {
            await postOrder(t, s, b.sku, b.orderId);
            let last: string | null = null;
            const done = await sseUntil(
              `${t.webUrl}/orders/${b.orderId}/events`,
              { cookie: s.cookie },
              (e) => {
                if (e.event === "done") return true;
                if (e.event === "progress") last = e.data;
                return false;
              },
              STREAM_TIMEOUT_MS,
            );
            if (!done) throw new Error(`the stream of ${b.orderId} ended without a terminal event`);
            b.endedAt = performance.now();
            b.latencyMs = b.endedAt - posted;
            Object.assign(b, panelState(last ?? ""));
          } catch (err) {
            errors++;
            firstError ??= err instanceof Error ? err.message : String(err);
          }
        }
      }),
    );
    return started;
  };
  const measured = o.pids ? await withCpu(o.pids, run) : { value: await run() };
  const started = measured.value;
  const ended = Math.max(...buyers.map((b) => b.endedAt ?? 0), started);
  polling = false;
  await poller;
  o.say?.(
    `flash sale (${name}): ${size.buyers} buyers done in ${((ended - started) / 1000).toFixed(1)} s; waiting for what the orders left running`,
  );
  const drainSeconds = await drain(o.adminUrl, baseline);

  // The order rows: the classification. The reservations and stock: the oversell check.
  const ids = buyers.map((b) => b.orderId);
  const rows = await db.query<{ id: string; status: string; status_reason: string | null }>(
    `SELECT id, status, status_reason FROM orders WHERE id = ANY($1::uuid[])`,
    [ids],
  );
  const byId = new Map(rows.rows.map((r) => [r.id, r]));
  const held = await db.query<{ sku: string; held: number; last: Date | null }>(
    `SELECT r.sku, coalesce(sum(r.quantity), 0)::int AS held, max(r.created_at) AS last
       FROM stock_reservations r WHERE r.order_id = ANY($1::uuid[]) AND r.status = 'reserved' GROUP BY r.sku`,
    [ids],
  );
  // What is left: with what is held, the units set for the sale (anything else holding them shows here).
  const stock = await db.query<{ sku: string; stock: number }>(`SELECT sku, stock FROM products WHERE sku = ANY($1::text[])`, [
    skus,
  ]);

  const products: FlashProduct[] = plan.map((p) => ({
    sku: p.sku,
    name: names.get(p.sku) ?? p.sku,
    units: p.units,
    buyers: p.buyers,
    fulfilled: 0,
    refused: 0,
    held: held.rows.find((r) => r.sku === p.sku)?.held ?? 0,
    stockAfter: Number(stock.rows.find((r) => r.sku === p.sku)?.stock ?? NaN),
  }));
  const productOf = new Map(products.map((p) => [p.sku, p]));
  let fulfilled = 0;
  let refused = 0;
  let streamDisagrees = 0;
  const otherReasons: Record<string, number> = {};
  const fulfilledSeenAt: number[] = [];
  for (const b of buyers) {
    const row = byId.get(b.orderId);
    const product = productOf.get(b.sku)!;
    let seen: "fulfilled" | "refused" | "other";
    if (row?.status === "fulfilled") {
      seen = "fulfilled";
      fulfilled++;
      product.fulfilled++;
    } else if (row?.status === "rejected" && (row.status_reason ?? "").startsWith(soldOut(product.name))) {
      seen = "refused";
      refused++;
      product.refused++;
    } else {
      seen = "other";
      const why = row ? `${row.status}: ${row.status_reason ?? ""}` : "no order row";
      otherReasons[why] = (otherReasons[why] ?? 0) + 1;
    }
    if (b.endedAt === undefined) continue;
    const streamSays =
      b.step === "fulfilled"
        ? "fulfilled"
        : b.step === "rejected" && (b.message ?? "").startsWith(soldOut(product.name))
          ? "refused"
          : "other";
    if (streamSays !== seen) streamDisagrees++;
    if (streamSays === "fulfilled") fulfilledSeenAt.push(b.endedAt);
  }
  const other = size.buyers - fulfilled - refused;
  const expectedFulfilled = plan.reduce((a, p) => a + Math.min(p.units, p.buyers), 0);
  fulfilledSeenAt.sort((a, b) => a - b);
  const lastSoldAt = Math.max(...held.rows.map((r) => (r.last ? r.last.getTime() : NaN)).filter(Number.isFinite));
  const seconds = (ended - started) / 1000;
  /** ms from the first POST; the client's and PostgreSQL's clocks are the same machine's. */
  const soldOutAt = Number.isFinite(lastSoldAt) ? lastSoldAt - firstPostWall : NaN;
  return {
    name,
    products,
    buyers: size.buyers,
    concurrency: sessions.length,
    units: size.units,
    expectedFulfilled,
    fulfilled,
    refused,
    other,
    otherReasons,
    streamsEnded: buyers.filter((b) => b.endedAt !== undefined).length,
    errors,
    ...(firstError ? { firstError } : {}),
    streamDisagrees,
    held: products.reduce((a, p) => a + p.held, 0),
    oversold: products.reduce((a, p) => a + Math.max(0, p.held - p.units), 0),
    minStockSeen,
    stockAfter: products.reduce((a, p) => a + p.stockAfter, 0),
    seconds,
    perSecond: size.buyers / seconds,
    soldOutSeconds: soldOutAt / 1000,
    untilSoldOutPerSecond:
      buyers.filter((b) => b.endedAt !== undefined && b.endedAt - started <= soldOutAt).length / (soldOutAt / 1000),
    afterSoldOutPerSecond:
      buyers.filter((b) => b.endedAt !== undefined && b.endedAt - started > soldOutAt).length / (seconds - soldOutAt / 1000),
    lastFulfilledSeenSeconds:
      fulfilledSeenAt.length >= expectedFulfilled && expectedFulfilled > 0
        ? (fulfilledSeenAt[expectedFulfilled - 1]! - started) / 1000
        : NaN,
    latency: summarize(buyers.flatMap((b) => (b.latencyMs === undefined ? [] : [b.latencyMs]))),
    ...("cpu" in measured ? { cpu: measured.cpu } : {}),
    drainSeconds,
    pgWaits: {
      samples,
      active: [...waits.values()].reduce((a, n) => a + n, 0) / Math.max(1, samples),
      byWait: Object.fromEntries([...waits].sort((x, y) => y[1] - x[1]).map(([w, n]) => [w, n / Math.max(1, samples)])),
    },
  };
}

/** What is wrong with a phase's outcome: failures (the run fails) and warnings (reported). */
function check(p: FlashPhase, failures: string[], warnings: string[]): void {
  const tag = `flash sale (${p.name})`;
  if (p.fulfilled !== p.expectedFulfilled)
    failures.push(`${tag}: ${p.fulfilled} orders fulfilled, ${p.expectedFulfilled} units were for sale`);
  if (p.oversold > 0) failures.push(`${tag}: ${p.oversold} units oversold (held by reservations beyond the units for sale)`);
  for (const x of p.products) {
    if (x.fulfilled > x.units) failures.push(`${tag}: ${x.sku}: ${x.fulfilled} orders fulfilled for ${x.units} units`);
    if (x.stockAfter < 0) failures.push(`${tag}: ${x.sku}: stock ${x.stockAfter} after the sale`);
    if (x.stockAfter + x.held !== x.units)
      warnings.push(`${tag}: ${x.sku}: ${x.stockAfter} left + ${x.held} held ≠ ${x.units} units set for the sale`);
  }
  if (p.minStockSeen < 0) failures.push(`${tag}: stock seen at ${p.minStockSeen} during the sale`);
  if (p.refused !== p.buyers - p.expectedFulfilled)
    warnings.push(`${tag}: ${p.refused} buyers refused as sold out, ${p.buyers - p.expectedFulfilled} expected`);
  if (p.other > 0)
    warnings.push(
      `${tag}: ${p.other} orders neither fulfilled nor refused as sold out (${Object.entries(p.otherReasons)
        .map(([k, v]) => `${v}× ${k}`)
        .join("; ")})`,
    );
  if (p.errors > 0) warnings.push(`${tag}: ${p.errors} buyers' POST or stream failed (${p.firstError ?? ""})`);
  if (p.streamDisagrees > 0) warnings.push(`${tag}: ${p.streamDisagrees} streams ended on another outcome than the order row's`);
  if (p.drainSeconds === Number.POSITIVE_INFINITY)
    warnings.push(`${tag}: Restate still had work ${DRAIN_LIMIT_MS / 1000} s after the sale`);
  if (Number.isNaN(p.drainSeconds)) warnings.push(`${tag}: Restate's introspection did not answer after the sale`);
}

export async function flashSale(o: FlashOptions): Promise<FlashResult> {
  const db = new pg.Pool({ connectionString: o.databaseUrl, max: 2 });
  const before = await db.query<{ sku: string; name: string; stock: number }>(`SELECT sku, name, stock FROM products`);
  const names = new Map(before.rows.map((r) => [r.sku, r.name]));
  try {
    for (const sku of [o.hotSku, ...o.spreadSkus]) if (!names.has(sku)) throw new Error(`flash sale: unknown product ${sku}`);
    // One browser session per concurrent buyer (its CSRF cookie), shared by both phases.
    const sessions = await Promise.all(Array.from({ length: o.concurrency }, () => newSession(o.targets.webUrl)));
    // A smaller sale first, shaped like the spread one: the hot phase, which comes next, does not pay for a cold start.
    const warmUp = { buyers: Math.min(1_000, Math.ceil(o.buyers / 5)), units: Math.ceil(o.units / 5) };
    o.say?.(`flash sale (warm-up): ${warmUp.buyers} buyers, ${warmUp.units} units over ${o.spreadSkus.length} products`);
    const warm = await runPhase(o, db, sessions, "warm-up", o.spreadSkus, names, warmUp);
    const size = { buyers: o.buyers, units: o.units };
    o.say?.(`flash sale (hot): ${o.buyers} buyers, ${o.units} units of ${o.hotSku}, concurrency ${o.concurrency}`);
    const hot = await runPhase(o, db, sessions, "hot", [o.hotSku], names, size);
    o.say?.(`flash sale (spread): ${o.buyers} buyers, ${o.units} units over ${o.spreadSkus.length} products`);
    const spread = await runPhase(o, db, sessions, "spread", o.spreadSkus, names, size);
    const failures: string[] = [];
    const warnings: string[] = [];
    check(warm, failures, warnings);
    check(hot, failures, warnings);
    check(spread, failures, warnings);
    return {
      buyers: o.buyers,
      units: o.units,
      concurrency: o.concurrency,
      hot,
      spread,
      ratio: hot.perSecond / spread.perSecond,
      failures,
      warnings,
    };
  } finally {
    // The other scenarios expect the stock they found.
    await db.query(
      `UPDATE products p SET stock = b.stock FROM unnest($1::text[], $2::int[]) AS b(sku, stock) WHERE p.sku = b.sku`,
      [before.rows.map((r) => r.sku), before.rows.map((r) => r.stock)],
    );
    await db.end();
  }
}
