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
 *
 * Beside it: the buyers (flash-sale-buyers.ts), PostgreSQL watched while they buy
 * (flash-sale-watch.ts), the rows counted into a phase (flash-sale-count.ts), a phase's figures
 * and checks (flash-sale-phase.ts), Restate's backlog around each phase (restate-drain.ts).
 */
import pg from "pg";
import { withCpu } from "./cpu.ts";
import { buyAll, newBuyers, type Buyer } from "./flash-sale-buyers.ts";
import { phaseOf, readSale } from "./flash-sale-count.ts";
import { check, type FlashPhase, type PlannedProduct } from "./flash-sale-phase.ts";
import { watchSale } from "./flash-sale-watch.ts";
import { newSession, type WebSession } from "./http.ts";
import type { Targets } from "./orders.scenario.ts";
import { drain, settle } from "./restate-drain.ts";

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

interface Sale {
  o: FlashOptions;
  db: pg.Pool;
  /** One browser session per concurrent buyer (its CSRF cookie), shared by every phase. */
  sessions: WebSession[];
  names: Map<string, string>;
}

export async function flashSale(o: FlashOptions): Promise<FlashResult> {
  const db = new pg.Pool({ connectionString: o.databaseUrl, max: 2 });
  const before = await db.query<{ sku: string; name: string; stock: number }>(`SELECT sku, name, stock FROM products`);
  const names = new Map(before.rows.map((r) => [r.sku, r.name]));
  try {
    for (const sku of [o.hotSku, ...o.spreadSkus]) if (!names.has(sku)) throw new Error(`flash sale: unknown product ${sku}`);
    const sessions = await Promise.all(Array.from({ length: o.concurrency }, () => newSession(o.targets.webUrl)));
    return await salePhases({ o, db, sessions, names });
  } finally {
    // The other scenarios expect the stock they found.
    await db.query(
      `UPDATE products p SET stock = b.stock FROM unnest($1::text[], $2::int[]) AS b(sku, stock) WHERE p.sku = b.sku`,
      [before.rows.map((r) => r.sku), before.rows.map((r) => r.stock)],
    );
    await db.end();
  }
}

/** The warm-up, then the hot and the spread phases, each checked. */
async function salePhases(sale: Sale): Promise<FlashResult> {
  const { o } = sale;
  // A smaller sale first, shaped like the spread one: the hot phase, which comes next, does not pay for a cold start.
  const warmUp = { buyers: Math.min(1_000, Math.ceil(o.buyers / 5)), units: Math.ceil(o.units / 5) };
  o.say?.(`flash sale (warm-up): ${warmUp.buyers} buyers, ${warmUp.units} units over ${o.spreadSkus.length} products`);
  const warm = await runPhase(sale, "warm-up", o.spreadSkus, warmUp);
  const size = { buyers: o.buyers, units: o.units };
  o.say?.(`flash sale (hot): ${o.buyers} buyers, ${o.units} units of ${o.hotSku}, concurrency ${o.concurrency}`);
  const hot = await runPhase(sale, "hot", [o.hotSku], size);
  o.say?.(`flash sale (spread): ${o.buyers} buyers, ${o.units} units over ${o.spreadSkus.length} products`);
  const spread = await runPhase(sale, "spread", o.spreadSkus, size);
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
}

/**
 * One sale: the stock set, Restate's backlog settled, the buyers' load with PostgreSQL watched,
 * then what the orders left running drained before the rows are counted.
 */
async function runPhase(
  { o, db, sessions, names }: Sale,
  name: FlashPhase["name"],
  skus: string[],
  size: { buyers: number; units: number },
): Promise<FlashPhase> {
  const plan = skus.map((sku, i) => ({
    sku,
    units: share(size.units, skus.length, i),
    buyers: share(size.buyers, skus.length, i),
  }));
  await setStock(db, plan);
  const baseline = await settle(o.adminUrl);
  const watch = watchSale(db, skus);
  const buyers = newBuyers(size.buyers, skus);
  const load = () => buyAll(o.targets, sessions, buyers);
  const measured = o.pids ? await withCpu(o.pids, load) : { value: await load() };
  const ended = Math.max(...buyers.map((b) => b.endedAt ?? 0), measured.value.started);
  const watched = await watch.stop();
  o.say?.(
    `flash sale (${name}): ${size.buyers} buyers done in ${((ended - measured.value.started) / 1000).toFixed(1)} s; waiting for what the orders left running`,
  );
  const drainSeconds = await drain(o.adminUrl, baseline);
  const rows = await readSale(db, ids(buyers), skus);
  const cpu = "cpu" in measured ? { cpu: measured.cpu } : {};
  const run = { name, plan, names, units: size.units, concurrency: sessions.length, buyers, load: measured.value, ended };
  return phaseOf({ ...run, rows, watched, ...cpu, drainSeconds });
}

const ids = (buyers: Buyer[]) => buyers.map((b) => b.orderId);

/** `units` spread over `n` products: the first ones take one more when it does not divide. */
function share(total: number, n: number, i: number): number {
  return Math.floor(total / n) + (i < total % n ? 1 : 0);
}

async function setStock(db: pg.Pool, plan: PlannedProduct[]): Promise<void> {
  const set = await db.query(
    `UPDATE products p SET stock = u.units, updated_at = now()
       FROM unnest($1::text[], $2::int[]) AS u(sku, units) WHERE p.sku = u.sku RETURNING p.sku`,
    [plan.map((p) => p.sku), plan.map((p) => p.units)],
  );
  if (set.rowCount !== plan.length) throw new Error(`flash sale: ${plan.length} products to set, ${set.rowCount} found`);
}
