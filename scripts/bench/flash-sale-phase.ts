/**
 * One phase of the flash sale as the report shows it: its products, the outcome counted from the
 * order rows, the oversell check, its times and what PostgreSQL waited for; and what about it makes
 * the run fail or is only reported.
 */
import { DRAIN_LIMIT_MS } from "./restate-drain.ts";
import type { Summary } from "./stats.ts";

/** A product's share of a phase's units and buyers. */
export interface PlannedProduct {
  sku: string;
  units: number;
  buyers: number;
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

/** What is wrong with a phase's outcome: failures (the run fails) and warnings (reported). */
export function check(p: FlashPhase, failures: string[], warnings: string[]): void {
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
