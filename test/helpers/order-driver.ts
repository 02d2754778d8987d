/**
 * Placing orders straight through Restate and reading what they did, for the workflow tests that
 * need no browser: submit, await the outcome, wait for a step, query the database, read the mail
 * the catcher got. `orders` is read on every call, so a test may reconnect after a restart.
 */
import assert from "node:assert/strict";
import { v7 as uuidv7 } from "uuid";
import type { PaymentMethod } from "../../shared/order.schema.ts";
import type { createOrdersClient } from "../../web/adapters/orders-client.ts";
import { waitUntil } from "./browser-client.ts";
import type { TestStack } from "./test-stack.ts";

export function orderDriver(stack: () => TestStack, orders: () => ReturnType<typeof createOrdersClient>) {
  const q = async (sql: string, params: unknown[] = []) => (await stack().db.query(sql, params)).rows;
  const mailsTo = (email: string) => stack().services.mail.messages.filter((m) => m.envelopeTo.includes(email));
  const result = async (orderId: string) => {
    const r = await fetch(`${stack().services.restate.ingressUrl}/restate/workflow/OrderFulfilment/${orderId}/attach`);
    assert.equal(r.status, 200, await r.clone().text());
    return (await r.json()) as { outcome: string; reason: string | null };
  };
  const place = async (email: string, paymentMethod: PaymentMethod, lines: Array<{ sku: string; quantity: number }>) => {
    const orderId = uuidv7();
    await orders().submit({ orderId, email, paymentMethod, lines });
    return orderId;
  };
  const waitForStep = (orderId: string, step: string) =>
    waitUntil(`step ${step}`, async () => (await orders().status(orderId)).step === step);
  return { q, mailsTo, result, place, waitForStep };
}
