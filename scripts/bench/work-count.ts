/**
 * What the system does per order, counted rather than timed: PostgreSQL transactions committed
 * (every database of the server: at concurrency 1 the orders are all that runs) and commands Valkey
 * processed, read before and after a run. The two reads themselves are taken off.
 */
import type { Redis } from "ioredis";
import pg from "pg";
import { streamKey } from "../../shared/progress-event.ts";

export interface WorkCount {
  postgresTransactions: number;
  valkeyCommands: number;
}

export interface WorkPerOrder extends WorkCount {
  orders: number;
  /** Bytes Valkey holds for one finished order's progress stream (MEMORY USAGE), mean over up to 20 orders. */
  streamBytes: number;
}

/** The mean MEMORY USAGE of the progress streams of these orders (what a day of orders keeps in Valkey). */
export async function streamBytes(valkey: Redis, orderIds: string[]): Promise<number> {
  const sizes = await Promise.all(
    orderIds.slice(-20).map(async (id) => Number(await valkey.call("MEMORY", "USAGE", streamKey({ kind: "order", id })))),
  );
  const known = sizes.filter((n) => Number.isFinite(n) && n > 0);
  return known.length ? known.reduce((a, b) => a + b, 0) / known.length : NaN;
}

/** Transactions committed in every database of the PostgreSQL server so far (this read is one of them). */
export async function postgresTransactions(databaseUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const r = await client.query<{ n: string }>("SELECT sum(xact_commit)::text AS n FROM pg_stat_database");
    return Number(r.rows[0]?.n ?? NaN);
  } finally {
    await client.end();
  }
}

export async function countWork(databaseUrl: string, valkey: Redis): Promise<WorkCount> {
  const info = await valkey.info("stats");
  return {
    postgresTransactions: await postgresTransactions(databaseUrl),
    valkeyCommands: Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? NaN),
  };
}

export function perOrder(before: WorkCount, after: WorkCount, orders: number, bytes: number): WorkPerOrder {
  return {
    orders,
    streamBytes: bytes,
    // One transaction and one INFO belong to the second read.
    postgresTransactions: (after.postgresTransactions - before.postgresTransactions - 1) / orders,
    valkeyCommands: (after.valkeyCommands - before.valkeyCommands - 1) / orders,
  };
}
