/**
 * Placing orders straight through Restate and reading what they did, for the workflow tests that
 * need no browser: submit, await the outcome, wait for a step, query the database, read the mail
 * the catcher got. `orders` is read on every call, so a test may reconnect after a restart.
 * Holding work where a test wants it: `shipNow` ends an order's shipping wait (stacks that test
 * shipping set a day-long one), `lockRow` holds a row in an open transaction so that a worker's
 * write to it waits, `blockedOn` waits until a statement does, and `withWorkerEnv` runs one test's
 * orders on a worker with other settings (a short approval timeout, say). `emailsSettled` waits
 * until Restate has no email send left to run: what the catcher has then is all there will be.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { v7 as uuidv7 } from "uuid";
import { startWorker } from "../../scripts/stack/stack.ts";
import type { HOSTED_PAYMENT, PaymentMethod } from "../../shared/order.schema.ts";
import type { createOrdersClient } from "../../web/adapters/orders-client.ts";
import { waitUntil } from "./browser-client.ts";
import { restateSql } from "./restate-admin.ts";
import type { TestStack } from "./test-stack.ts";

export function orderDriver(stack: () => TestStack, orders: () => ReturnType<typeof createOrdersClient>) {
  const q = async (sql: string, params: unknown[] = []) => (await stack().db.query(sql, params)).rows;
  const mailsTo = (email: string) => stack().services.mail.messages.filter((m) => m.envelopeTo.includes(email));
  const result = async (orderId: string) => {
    const r = await fetch(`${stack().services.restate.ingressUrl}/restate/workflow/OrderFulfilment/${orderId}/attach`);
    assert.equal(r.status, 200, await r.clone().text());
    return (await r.json()) as { outcome: string; reason: string | null };
  };
  const place = async (
    email: string,
    paymentMethod: PaymentMethod | typeof HOSTED_PAYMENT,
    lines: Array<{ sku: string; quantity: number }>,
  ) => {
    const orderId = uuidv7();
    await orders().submit({ orderId, email, paymentMethod, lines });
    return orderId;
  };
  const waitForStep = (orderId: string, step: string) =>
    waitUntil(`step ${step}`, async () => (await orders().status(orderId)).step === step);
  /** An operator's "ship now" once the order is in its shipping wait. */
  const shipNow = async (orderId: string) => {
    await waitForStep(orderId, "confirmed");
    assert.deepEqual(await orders().control(orderId, "dispatch", "", "tess"), { accepted: true, message: "Shipping now." });
  };
  /**
   * Runs `sql` (a `SELECT … FOR UPDATE` or `FOR NO KEY UPDATE`, or an `INSERT … RETURNING`) in a
   * transaction left open: writes that conflict with it wait until `release` rolls it back (or,
   * with `commit`, commits it).
   */
  const lockRow = async (sql: string, params: unknown[], opts: { commit?: boolean } = {}) => {
    const client = await stack().db.connect();
    await client.query("BEGIN");
    try {
      assert.equal((await client.query(sql, params)).rowCount, 1, "the row to lock exists");
    } catch (err) {
      await client.query("ROLLBACK");
      client.release();
      throw err;
    }
    let released = false;
    return {
      /** Ends the transaction; a second call does nothing (a test's `finally` may release again). */
      async release() {
        if (released) return;
        released = true;
        try {
          await client.query(opts.commit ? "COMMIT" : "ROLLBACK");
        } finally {
          client.release();
        }
      },
    };
  };
  /** Waits until a statement that contains `fragment` is waiting for a lock. */
  const blockedOn = (fragment: string) =>
    waitUntil(
      `a statement waiting for a lock: ${fragment}`,
      async () =>
        (await q(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND strpos(query, $1) > 0`, [fragment])).length >
        0,
    );
  /** Runs `fn` with the stack's worker swapped for one started with `env` on top; restores it after. */
  const withWorkerEnv = async <T>(env: NodeJS.ProcessEnv, fn: () => Promise<T>): Promise<T> => {
    const s = stack();
    await s.worker?.kill();
    s.worker = await startWorker({
      env: { ...s.env, ...env },
      adminUrl: s.services.restate.adminUrl,
      output: path.join(s.logDir, "worker-swapped.log"),
    });
    try {
      return await fn();
    } finally {
      await s.worker.kill();
      await s.startWorker();
    }
  };
  const emailsSettled = () =>
    waitUntil("every queued email sent", async () => {
      const [row] = await restateSql(
        stack().services.restate.adminUrl,
        "SELECT count(*) AS n FROM sys_invocation WHERE target_service_name = 'EmailSender' AND status != 'completed'",
      );
      return Number(row?.n ?? 0) === 0;
    });
  return { q, mailsTo, result, place, waitForStep, shipNow, lockRow, blockedOn, withWorkerEnv, emailsSettled };
}
