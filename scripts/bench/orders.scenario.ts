/**
 * Scenarios 1 and 2: an order end to end through the web (form POST → terminal event on the
 * order's SSE stream) and form ingest (accepted POSTs), each beside raw Restate on the same server:
 * the 3-step no-op workflow submitted and awaited, or only submitted.
 */
import { v7 as uuidv7 } from "uuid";
import { newSession, request, sseUntil, type WebSession } from "./http.ts";
import type { OrderSample } from "./order-account.ts";
import { closedLoop, type LoadResult } from "./stats.ts";

export interface Targets {
  webUrl: string;
  ingressUrl: string;
  skus: string[];
}

function orderForm(s: WebSession, orderId: string, sku: string): string {
  return new URLSearchParams({
    _csrf: s.csrf,
    orderId,
    email: "bench@example.com",
    paymentMethod: "pm_card_visa",
    [`qty[${sku}]`]: "1",
  }).toString();
}

/** Places one order for one unit of `sku` through the form; resolves with its id once the web answered 303. */
export async function postOrder(t: Targets, s: WebSession, sku: string, orderId: string = uuidv7()): Promise<string> {
  const res = await request(`${t.webUrl}/orders`, {
    method: "POST",
    headers: { cookie: s.cookie, "content-type": "application/x-www-form-urlencoded" },
    body: orderForm(s, orderId, sku),
  });
  if (res.status !== 303) throw new Error(`POST /orders answered ${res.status}: ${res.body.slice(0, 200)}`);
  return orderId;
}

async function rawSubmit(t: Targets): Promise<string> {
  const id = uuidv7();
  const res = await request(`${t.ingressUrl}/BenchNoop/${id}/run/send`, {
    method: "POST",
    headers: { "content-type": "application/json" },
  });
  if (res.status !== 200 && res.status !== 202) throw new Error(`raw submit answered ${res.status}: ${res.body.slice(0, 200)}`);
  return id;
}

async function rawAttach(t: Targets, id: string): Promise<void> {
  const res = await request(`${t.ingressUrl}/restate/workflow/BenchNoop/${id}/attach`);
  if (res.status !== 200) throw new Error(`raw attach answered ${res.status}: ${res.body.slice(0, 200)}`);
}

async function sessions(t: Targets, n: number): Promise<WebSession[]> {
  return Promise.all(Array.from({ length: n }, () => newSession(t.webUrl)));
}

/**
 * One order: POST, then its stream until `done` (terminal). Latency from the POST to the terminal
 * event. `samples`, when given, collects each order's id and wall-clock times for the cost account.
 */
export async function ordersEndToEnd(
  t: Targets,
  concurrency: number,
  durationMs: number,
  samples?: OrderSample[],
): Promise<LoadResult> {
  const vus = await sessions(t, concurrency);
  let n = 0;
  return closedLoop(concurrency, durationMs, async (vu) => {
    const s = vus[vu]!;
    const started = performance.now();
    const postedAt = Date.now();
    const orderId = await postOrder(t, s, t.skus[n++ % t.skus.length]!);
    const done = await sseUntil(`${t.webUrl}/orders/${orderId}/events`, { cookie: s.cookie }, (e) => e.event === "done");
    if (!done) throw new Error(`the stream of ${orderId} ended without a terminal event`);
    samples?.push({ orderId, postedAt, doneAt: Date.now() });
    return performance.now() - started;
  });
}

export async function rawWorkflows(t: Targets, concurrency: number, durationMs: number): Promise<LoadResult> {
  return closedLoop(concurrency, durationMs, async () => {
    const started = performance.now();
    await rawAttach(t, await rawSubmit(t));
    return performance.now() - started;
  });
}

export async function formIngest(t: Targets, concurrency: number, durationMs: number): Promise<LoadResult> {
  const vus = await sessions(t, concurrency);
  let n = 0;
  return closedLoop(concurrency, durationMs, async (vu) => {
    const started = performance.now();
    await postOrder(t, vus[vu]!, t.skus[n++ % t.skus.length]!);
    return performance.now() - started;
  });
}

export async function rawIngest(t: Targets, concurrency: number, durationMs: number): Promise<LoadResult> {
  return closedLoop(concurrency, durationMs, async () => {
    const started = performance.now();
    await rawSubmit(t);
    return performance.now() - started;
  });
}
