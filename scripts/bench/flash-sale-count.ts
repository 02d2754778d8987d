/**
 * A flash sale phase counted: the order rows classify each buyer (fulfilled, refused as sold out,
 * anything else) and are checked against what the buyer's stream showed last; the reservations and
 * products.stock are the oversell check; the buyers' stream ends and the last unit's reservation
 * give the phase's times.
 */
import type pg from "pg";
import type { Buyer, BuyersLoad } from "./flash-sale-buyers.ts";
import type { FlashPhase, FlashProduct, PgWaits, PlannedProduct } from "./flash-sale-phase.ts";
import { summarize } from "./stats.ts";

/** What PostgreSQL holds about a phase's orders once it is over. */
export interface SaleRows {
  orders: Map<string, { id: string; status: string; status_reason: string | null }>;
  /** Units held by reservations in force, by product, and when the last of them was written. */
  held: { sku: string; held: number; last: Date | null }[];
  stock: { sku: string; stock: number }[];
}

export async function readSale(db: pg.Pool, ids: string[], skus: string[]): Promise<SaleRows> {
  const rows = await db.query<{ id: string; status: string; status_reason: string | null }>(
    `SELECT id, status, status_reason FROM orders WHERE id = ANY($1::uuid[])`,
    [ids],
  );
  const held = await db.query<{ sku: string; held: number; last: Date | null }>(
    `SELECT r.sku, coalesce(sum(r.quantity), 0)::int AS held, max(r.created_at) AS last
       FROM stock_reservations r WHERE r.order_id = ANY($1::uuid[]) AND r.status = 'reserved' GROUP BY r.sku`,
    [ids],
  );
  // What is left: with what is held, the units set for the sale (anything else holding them shows here).
  const stock = await db.query<{ sku: string; stock: number }>(`SELECT sku, stock FROM products WHERE sku = ANY($1::text[])`, [
    skus,
  ]);
  return { orders: new Map(rows.rows.map((r) => [r.id, r])), held: held.rows, stock: stock.rows };
}

/** Everything a phase's figures are made from. */
export interface PhaseRun {
  name: FlashPhase["name"];
  plan: PlannedProduct[];
  names: Map<string, string>;
  units: number;
  concurrency: number;
  buyers: Buyer[];
  load: BuyersLoad;
  /** performance.now() when the last buyer's stream ended. */
  ended: number;
  rows: SaleRows;
  watched: { minStockSeen: number; pgWaits: PgWaits };
  cpu?: Record<string, number>;
  drainSeconds: number;
}

export function phaseOf(r: PhaseRun): FlashPhase {
  const products = productsAfter(r);
  const t = tally(r.buyers, r.rows, products);
  const expectedFulfilled = r.plan.reduce((a, p) => a + Math.min(p.units, p.buyers), 0);
  return {
    name: r.name,
    products,
    buyers: r.buyers.length,
    concurrency: r.concurrency,
    units: r.units,
    expectedFulfilled,
    fulfilled: t.fulfilled,
    refused: t.refused,
    other: r.buyers.length - t.fulfilled - t.refused,
    otherReasons: t.otherReasons,
    streamsEnded: r.buyers.filter((b) => b.endedAt !== undefined).length,
    errors: r.load.errors,
    ...(r.load.firstError ? { firstError: r.load.firstError } : {}),
    streamDisagrees: t.streamDisagrees,
    held: products.reduce((a, p) => a + p.held, 0),
    oversold: products.reduce((a, p) => a + Math.max(0, p.held - p.units), 0),
    minStockSeen: r.watched.minStockSeen,
    stockAfter: products.reduce((a, p) => a + p.stockAfter, 0),
    ...timesOf(r, expectedFulfilled, t.fulfilledSeenAt),
    latency: summarize(r.buyers.flatMap((b) => (b.latencyMs === undefined ? [] : [b.latencyMs]))),
    ...(r.cpu ? { cpu: r.cpu } : {}),
    drainSeconds: r.drainSeconds,
    pgWaits: r.watched.pgWaits,
  };
}

/** The phase's products with what is held and left of each; their buyers are counted next. */
function productsAfter({ plan, names, rows }: PhaseRun): FlashProduct[] {
  return plan.map((p) => ({
    sku: p.sku,
    name: names.get(p.sku) ?? p.sku,
    units: p.units,
    buyers: p.buyers,
    fulfilled: 0,
    refused: 0,
    held: rows.held.find((r) => r.sku === p.sku)?.held ?? 0,
    stockAfter: Number(rows.stock.find((r) => r.sku === p.sku)?.stock ?? NaN),
  }));
}

const soldOut = (name: string) => `Out of stock: ${name}`;

type Outcome = "fulfilled" | "refused" | "other";

const outcomeOf = (status: string | undefined, reason: string | null | undefined, product: FlashProduct): Outcome =>
  status === "fulfilled"
    ? "fulfilled"
    : status === "rejected" && (reason ?? "").startsWith(soldOut(product.name))
      ? "refused"
      : "other";

interface Tally {
  fulfilled: number;
  refused: number;
  streamDisagrees: number;
  otherReasons: Record<string, number>;
  /** performance.now() when each buyer whose stream showed "fulfilled" saw it, earliest first. */
  fulfilledSeenAt: number[];
}

/**
 * Each buyer counted by its order row, on its product too; and, for a buyer whose stream ended,
 * whether the stream's last state says the same, and when a fulfilled one was seen (in order).
 */
function tally(buyers: Buyer[], rows: SaleRows, products: FlashProduct[]): Tally {
  const productOf = new Map(products.map((p) => [p.sku, p]));
  const t: Tally = { fulfilled: 0, refused: 0, streamDisagrees: 0, otherReasons: {}, fulfilledSeenAt: [] };
  for (const b of buyers) {
    const row = rows.orders.get(b.orderId);
    const product = productOf.get(b.sku)!;
    const seen = outcomeOf(row?.status, row?.status_reason, product);
    if (seen !== "other") {
      t[seen]++;
      product[seen]++;
    } else {
      const why = row ? `${row.status}: ${row.status_reason ?? ""}` : "no order row";
      t.otherReasons[why] = (t.otherReasons[why] ?? 0) + 1;
    }
    if (b.endedAt === undefined) continue;
    const streamSays = outcomeOf(b.step, b.message, product);
    if (streamSays !== seen) t.streamDisagrees++;
    if (streamSays === "fulfilled") t.fulfilledSeenAt.push(b.endedAt);
  }
  t.fulfilledSeenAt.sort((a, b) => a - b);
  return t;
}

/** The phase's times, from the first POST: all buyers, the stock reaching 0, and the last unit's buyer seeing it. */
function timesOf({ buyers, load, ended, rows }: PhaseRun, expectedFulfilled: number, fulfilledSeenAt: number[]) {
  const { started } = load;
  const lastSoldAt = Math.max(...rows.held.map((r) => (r.last ? r.last.getTime() : NaN)).filter(Number.isFinite));
  const seconds = (ended - started) / 1000;
  /** ms from the first POST; the client's and PostgreSQL's clocks are the same machine's. */
  const soldOutAt = Number.isFinite(lastSoldAt) ? lastSoldAt - load.firstPostWall : NaN;
  const endedWhen = (inTime: (ms: number) => boolean) =>
    buyers.filter((b) => b.endedAt !== undefined && inTime(b.endedAt - started)).length;
  return {
    seconds,
    perSecond: buyers.length / seconds,
    soldOutSeconds: soldOutAt / 1000,
    untilSoldOutPerSecond: endedWhen((ms) => ms <= soldOutAt) / (soldOutAt / 1000),
    afterSoldOutPerSecond: endedWhen((ms) => ms > soldOutAt) / (seconds - soldOutAt / 1000),
    lastFulfilledSeenSeconds:
      fulfilledSeenAt.length >= expectedFulfilled && expectedFulfilled > 0
        ? (fulfilledSeenAt[expectedFulfilled - 1]! - started) / 1000
        : NaN,
  };
}
