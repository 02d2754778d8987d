/**
 * Scenario 3b: a reconnect storm. N SSE clients follow M orders on one web process; the web is
 * restarted (SIGTERM ends every stream) while events keep being published; then every client
 * reconnects within one second with its Last-Event-ID, as browsers do. Measures how long until all
 * are back and have exactly the events they missed (none lost, none twice), and how many Restate
 * calls the storm caused (the `status` invocations Restate recorded meanwhile): snapshots and
 * replays are meant to come from Valkey, Restate only as a fallback.
 */
import http from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import { createLogger } from "../../shared/logger.ts";
import { SseParser } from "../lib/sse-parser.ts";
import { createProgressPublisher } from "../../worker/adapters/progress-publisher.ts";
import { sessionWithOrders } from "./sse-fanout.scenario.ts";

export interface StormOptions {
  webUrl: string;
  adminUrl: string;
  redis: Redis;
  clients: number;
  orders: number;
  /** Stops the web and starts it again (on the same port); resolves once it serves. */
  restartWeb(): Promise<void>;
}

export interface StormResult {
  clients: number;
  orders: number;
  /** Clients whose stream was open before the restart. */
  connectedBefore: number;
  /** Events published while the web was down, and the deliveries the clients were owed for them. */
  publishedWhileDown: number;
  owed: number;
  reconnected: number;
  /** Clients that received exactly their missed events, none twice. */
  caughtUp: number;
  duplicates: number;
  missing: number;
  /** From the first reconnect to the last client caught up. */
  stormSeconds: number;
  /** From the first reconnect to the last stream accepted (200) by the restarted web. */
  acceptedSeconds: number;
  restateCalls: number;
}

interface Client {
  orderId: string;
  lastSeq: number;
  seen: Set<number>;
  req: http.ClientRequest | null;
}

async function statusCalls(adminUrl: string): Promise<number> {
  const res = await fetch(`${adminUrl}/query`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ query: `SELECT count(*) AS n FROM sys_invocation WHERE target_handler_name = 'status'` }),
  });
  if (!res.ok) throw new Error(`admin query answered ${res.status}`);
  return Number(((await res.json()) as { rows: Array<{ n: number }> }).rows[0]?.n ?? 0);
}

/** Opens one client's stream (resolves on its first frame) or reopens it (resolves once accepted); records every `id:`. */
function open(webUrl: string, cookie: string, c: Client, resume: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { accept: "text/event-stream", cookie };
    if (resume) headers["last-event-id"] = String(c.lastSeq);
    const req = http.get(`${webUrl}/orders/${c.orderId}/events`, { agent: false, headers });
    c.req = req;
    let settled = false;
    const settle = (err?: Error) => {
      if (settled) return;
      settled = true;
      if (err) reject(err);
      else resolve();
    };
    req.once("error", (err) => settle(err));
    req.once("response", (res) => {
      if (res.statusCode !== 200) return settle(new Error(`SSE answered ${res.statusCode}`));
      // A resumed stream owes nothing to a client that missed nothing: being accepted is being back.
      if (resume) settle();
      const parser = new SseParser();
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        for (const e of parser.feed(chunk)) {
          if (e.id !== null && e.event === "progress") {
            const seq = Number(e.id);
            if (resume && c.seen.has(seq)) c.seen.add(-seq); // a duplicate, marked by its negative
            c.seen.add(seq);
            c.lastSeq = Math.max(c.lastSeq, seq);
          }
          settle();
        }
      });
      res.on("error", () => undefined);
      res.on("end", () => settle());
    });
  });
}

export async function sseStorm(o: StormOptions): Promise<StormResult> {
  const logger = createLogger({ name: "bench", level: "warn", format: "json" });
  const { session, orderIds } = await sessionWithOrders(o.webUrl, o.redis, o.orders);
  const publisher = createProgressPublisher(o.redis, logger, { maxLen: 100, ttlSeconds: 600 });
  const seqs = new Map<string, number>();
  const publish = async (id: string) => {
    const seq = (seqs.get(id) ?? 0) + 1;
    seqs.set(id, seq);
    await publisher.publish(
      { kind: "order", id },
      { seq, kind: "step", step: "storm", percent: 40, status: "running", message: `step ${seq}` },
    );
  };
  for (let i = 0; i < orderIds.length; i += 100)
    await Promise.all(orderIds.slice(i, i + 100).map((id) => publish(id).then(() => publish(id))));

  // Everyone connected and holding the two events each order has so far.
  const clients: Client[] = Array.from({ length: o.clients }, (_, i) => ({
    orderId: orderIds[i % orderIds.length]!,
    lastSeq: 0,
    seen: new Set(),
    req: null,
  }));
  let next = 0;
  await Promise.all(
    Array.from({ length: 100 }, async () => {
      while (next < clients.length) await open(o.webUrl, session.cookie, clients[next++]!, false).catch(() => undefined);
    }),
  );
  await sleep(1_000);
  const connectedBefore = clients.filter((c) => c.lastSeq > 0).length;
  const callsBefore = await statusCalls(o.adminUrl);

  // The web goes away; half the orders move on meanwhile.
  const down = o.restartWeb();
  let publishedWhileDown = 0;
  for (let i = 0; i < orderIds.length; i += 2) {
    await publish(orderIds[i]!);
    publishedWhileDown++;
  }
  await down;
  for (const c of clients) c.req?.destroy();
  const owedBy = (c: Client) => (seqs.get(c.orderId) ?? 0) - c.lastSeq;
  const owed = clients.reduce((sum, c) => sum + owedBy(c), 0);
  const before = new Map(clients.map((c) => [c, { lastSeq: c.lastSeq, seen: new Set(c.seen) }]));
  for (const c of clients) c.seen = new Set();

  // The storm: every client back within one second, each with its Last-Event-ID.
  const stormStarted = performance.now();
  let reconnected = 0;
  let lastAccepted = stormStarted;
  await Promise.all(
    clients.map(async (c) => {
      await sleep(Math.random() * 1_000);
      await open(o.webUrl, session.cookie, c, true).then(
        () => {
          reconnected++;
          lastAccepted = Math.max(lastAccepted, performance.now());
        },
        () => undefined,
      );
    }),
  );
  const caughtUpBy = (c: Client) => c.lastSeq >= (seqs.get(c.orderId) ?? 0);
  const deadline = performance.now() + 30_000;
  while (performance.now() < deadline && !clients.every(caughtUpBy)) await sleep(50);
  const stormSeconds = (performance.now() - stormStarted) / 1000;
  await sleep(500);
  const restateCalls = (await statusCalls(o.adminUrl)) - callsBefore;

  let duplicates = 0;
  let missing = 0;
  let caughtUp = 0;
  for (const c of clients) {
    const from = before.get(c)!.lastSeq;
    const want = Array.from({ length: (seqs.get(c.orderId) ?? 0) - from }, (_, k) => from + k + 1);
    const dups = [...c.seen].filter((s) => s < 0).length + [...c.seen].filter((s) => s > 0 && s <= from).length;
    const lost = want.filter((s) => !c.seen.has(s)).length;
    duplicates += dups;
    missing += lost;
    if (dups === 0 && lost === 0) caughtUp++;
  }
  for (const c of clients) c.req?.destroy();
  await sleep(1_000);
  return {
    clients: o.clients,
    orders: o.orders,
    connectedBefore,
    publishedWhileDown,
    owed,
    reconnected,
    caughtUp,
    duplicates,
    missing,
    stormSeconds,
    acceptedSeconds: (lastAccepted - stormStarted) / 1000,
    restateCalls,
  };
}
