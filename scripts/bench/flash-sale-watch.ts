/**
 * What PostgreSQL shows while a flash sale's buyers buy: the lowest stock of the products on sale
 * (the products.stock >= 0 check should make < 0 impossible), and what its busy backends wait for.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type pg from "pg";
import type { PgWaits } from "./flash-sale-phase.ts";

export interface SaleWatch {
  /** Stops polling; the lowest stock seen, and the busy backends on average. */
  stop(): Promise<{ minStockSeen: number; pgWaits: PgWaits }>;
}

/** Polls the stock of `skus` and pg_stat_activity back to back (25 ms apart) until stopped. */
export function watchSale(db: pg.Pool, skus: string[]): SaleWatch {
  let minStockSeen = Number.POSITIVE_INFINITY;
  const waits = new Map<string, number>();
  let samples = 0;
  let polling = true;
  const poller = (async () => {
    while (polling) {
      minStockSeen = Math.min(minStockSeen, await minStock(db, skus));
      const busy = await busyBackends(db);
      samples++;
      for (const w of busy) waits.set(w.wait, (waits.get(w.wait) ?? 0) + w.n);
      await sleep(25);
    }
  })();
  return {
    async stop() {
      polling = false;
      await poller;
      return { minStockSeen, pgWaits: averageWaits(waits, samples) };
    },
  };
}

async function minStock(db: pg.Pool, skus: string[]): Promise<number> {
  const r = await db.query<{ min: number }>(`SELECT min(stock)::int AS min FROM products WHERE sku = ANY($1::text[])`, [skus]);
  return Number(r.rows[0]?.min ?? Number.POSITIVE_INFINITY);
}

/** This database's busy backends (but the poller's own) by what they wait for ("CPU": not waiting). */
async function busyBackends(db: pg.Pool): Promise<{ wait: string; n: number }[]> {
  const busy = await db.query<{ wait: string; n: number }>(
    `SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') AS wait, count(*)::int AS n FROM pg_stat_activity
      WHERE state = 'active' AND datname = current_database() AND pid <> pg_backend_pid() GROUP BY 1`,
  );
  return busy.rows;
}

function averageWaits(waits: Map<string, number>, samples: number): PgWaits {
  return {
    samples,
    active: [...waits.values()].reduce((a, n) => a + n, 0) / Math.max(1, samples),
    byWait: Object.fromEntries([...waits].sort((x, y) => y[1] - x[1]).map(([w, n]) => [w, n / Math.max(1, samples)])),
  };
}
