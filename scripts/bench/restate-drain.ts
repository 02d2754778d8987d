/**
 * Restate's backlog around a measured phase: what an earlier scenario left running before it, and
 * what the phase's orders left running after their streams ended (deferred emails, …), read from
 * the admin API's introspection.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { query as restateQuery } from "./order-account.ts";

/** How long a phase waits for Restate's backlog to drain or settle before it reports what is left. */
export const DRAIN_LIMIT_MS = 180_000;

/** Invocations Restate has not finished (the orders' emails go on after the buyers' streams ended). */
async function unfinished(adminUrl: string): Promise<number> {
  const rows = await restateQuery<{ n: number }>(
    adminUrl,
    `SELECT count(*) AS n FROM sys_invocation WHERE status <> 'completed'`,
  );
  return Number(rows[0]?.n ?? 0);
}

/** Waits until Restate has no more unfinished invocations than `baseline`; the seconds it took (NaN: unknown). */
export async function drain(adminUrl: string, baseline: number): Promise<number> {
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
export async function settle(adminUrl: string): Promise<number> {
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
