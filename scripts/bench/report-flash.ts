/** Report section 5, the flash sale: each phase's outcome, the oversell check, and the hot product's throughput against the spread one's. */
import type { FlashPhase } from "./flash-sale-phase.ts";
import type { FlashResult } from "./flash-sale.scenario.ts";
import { f, ok, ratio, table } from "./report-format.ts";

export function flashSection(x: FlashResult): string[] {
  return [
    ...phasesTable(x),
    outcomeNote(x),
    definitionsNote(x),
    ...pgWaitsTable(x),
    ...cpuTable(x),
    ...(x.failures.length ? [`\n**FAILED**: ${x.failures.join("; ")}.`] : []),
    ...(x.warnings.length ? [`\nWarnings: ${x.warnings.join("; ")}.`] : []),
  ];
}

const PHASE_HEAD = [
  "phase",
  "products",
  "units",
  "buyers",
  "fulfilled",
  "refused (sold out)",
  "other",
  "errors",
  "streams ended",
  "oversold",
  "min stock seen",
  "sold out s",
  "last unit seen s",
  "all buyers s",
  "orders/s",
  "until sold out /s",
  "after /s",
  "p50 ms",
  "p99 ms",
  "fulfilled = units, none oversold",
];

function phaseRow(p: FlashPhase): string[] {
  return [
    p.name,
    p.products.length === 1 ? p.products[0]!.sku : `${p.products.length} products`,
    String(p.units),
    String(p.buyers),
    String(p.fulfilled),
    String(p.refused),
    String(p.other),
    String(p.errors),
    `${p.streamsEnded}/${p.buyers}`,
    String(p.oversold),
    f(p.minStockSeen, 0),
    f(p.soldOutSeconds, 2),
    f(p.lastFulfilledSeenSeconds, 2),
    f(p.seconds, 1),
    f(p.perSecond, 1),
    f(p.untilSoldOutPerSecond, 1),
    f(p.afterSoldOutPerSecond, 1),
    f(p.latency.p50, 0),
    f(p.latency.p99, 0),
    p.fulfilled === p.expectedFulfilled && p.oversold === 0 ? "yes" : "**NO**",
  ];
}

function phasesTable(x: FlashResult): string[] {
  return [
    `\n### 5. Flash sale: ${x.buyers} buyers, one unit each, ${x.units} units, concurrency ${x.concurrency}; form POST → the order's stream until \`done\`\n`,
    table(PHASE_HEAD, [phaseRow(x.hot), phaseRow(x.spread)]),
  ];
}

function outcomeNote({ hot, spread, ratio: hotOverSpread }: FlashResult): string {
  return (
    `\nHot product ÷ spread orders/s: ${ratio(hot.perSecond, spread.perSecond)}, target ≥ 0.9× (${ok(hotOverSpread >= 0.9)}). ` +
    `Fulfilled = units exactly: hot ${hot.fulfilled === hot.expectedFulfilled ? "yes" : "**no**"}, spread ${
      spread.fulfilled === spread.expectedFulfilled ? "yes" : "**no**"
    }.`
  );
}

/** What each column counts, and how long Restate was still busy after each phase. */
function definitionsNote({ hot, spread }: FlashResult): string {
  return (
    '\nfulfilled / refused / other: by the order rows in PostgreSQL (fulfilled; rejected with "Out of stock: <the product>"; anything else); ' +
    "errors: buyers whose POST or stream failed; streams ended: buyers whose stream reached `done` (" +
    `${hot.streamDisagrees + spread.streamDisagrees} of them ended on another outcome than their order row). ` +
    "oversold: units held by the phase's reservations beyond each product's units; min stock seen: products.stock polled every 25 ms. " +
    "sold out s: first POST → the last unit's reservation row written (PostgreSQL's created_at), the moment the stock reached 0; " +
    "last unit seen s: first POST → the buyer of the last unit (by the clock) saw its fulfilled terminal event; " +
    "all buyers s: first POST → the last buyer's stream ended, over which orders/s is counted; until sold out /s and after /s: " +
    "the buyers whose stream ended before and after the stock reached 0, per second of each part. " +
    "Both phases run after a smaller sale shaped like the spread one (a fifth of the buyers and units) as a warm-up. " +
    `Restate had work left from the orders for ${f(hot.drainSeconds, 1)} s (hot) and ${f(spread.drainSeconds, 1)} s (spread) after the last stream ended; ` +
    "the next phase started once it was done."
  );
}

function pgWaitsTable({ hot, spread }: FlashResult): string[] {
  const waits = (p: FlashPhase) =>
    Object.entries(p.pgWaits.byWait)
      .slice(0, 5)
      .map(([w, n]) => `${w} ${f(n, 1)}`)
      .join(", ");
  return [
    "\nPostgreSQL's busy backends while each phase ran (pg_stat_activity, sampled with the stock), on average, by what they waited for (CPU: not waiting):\n",
    table(
      ["phase", "samples", "busy backends", "by wait"],
      [hot, spread].map((p) => [p.name, String(p.pgWaits.samples), f(p.pgWaits.active, 1), waits(p)]),
    ),
  ];
}

function cpuTable({ hot, spread }: FlashResult): string[] {
  if (!hot.cpu || !spread.cpu) return [];
  const names = Object.keys(hot.cpu);
  return [
    "\nCPU during each phase, % of one core:\n",
    table(
      ["phase", ...names],
      [hot, spread].map((p) => [p.name, ...names.map((n) => f(p.cpu![n] ?? NaN, 0))]),
    ),
  ];
}
