/**
 * Scenario 3: N SSE clients on one web process spread over many orders, progress events published
 * at a fixed rate through the worker's own publisher (Valkey stream + pub/sub). Measures
 * publish → client latency, the web's RSS per connection and CPU, and Valkey's connection count
 * (on a cluster, summed over the primaries). Then, with every stream still open and nothing
 * published, an idle phase: the web's CPU and PostgreSQL's transactions per second, which is
 * what the streams' quiet check costs (web/progress/quiet-check.ts; none when it is off).
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { isCluster, type ValkeyClient } from "../../shared/valkey-client.ts";
import { v7 as uuidv7 } from "uuid";
import { createLogger } from "../../shared/logger.ts";
import { createOwnershipStore } from "../../web/adapters/ownership.store.ts";
import { createProgressPublisher } from "../../worker/adapters/progress-publisher.ts";
import { SseParser } from "../lib/sse-parser.ts";
import { newSession, type WebSession } from "./http.ts";
import { summarize, type Summary } from "./stats.ts";
import { postgresTransactions } from "./work-count.ts";

export interface FanoutOptions {
  webUrl: string;
  webPid: number;
  redis: ValkeyClient;
  /** PostgreSQL, for the idle phase's transaction count. */
  databaseUrl: string;
  /** How long the idle phase lasts (0: none). */
  idleMs: number;
  clients: number;
  orders: number;
  eventsPerSecond: number;
  durationMs: number;
  /** Called once every client is connected (the bench takes a heap snapshot here with BENCH_HEAP_SNAPSHOT=1). */
  afterConnected?: () => Promise<void>;
}

export interface FanoutResult {
  clients: number;
  connected: number;
  orders: number;
  eventsPerSecond: number;
  connectSeconds: number;
  published: number;
  expectedDeliveries: number;
  delivered: number;
  latency: Summary;
  webRssMb: number;
  rssPerConnectionKb: number;
  rssPerConnectionAfterConnectKb: number;
  /** RSS growth per connection over the second half of the clients: what one more connection costs. */
  marginalRssPerConnectionKb: number;
  webCpuPercent: number;
  valkeyConnections: number;
  /** With every stream open and nothing published: the web's CPU, and PostgreSQL transactions per second. */
  idle: { seconds: number; webCpuPercent: number; postgresTransactionsPerSecond: number } | null;
}

const rssKb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN);
/** utime + stime of a process, in seconds. */
const cpuSeconds = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
};
const clientsOf = (info: string) => Number(/connected_clients:(\d+)/.exec(info)?.[1] ?? NaN);
const valkeyClients = async (redis: ValkeyClient) => {
  if (!isCluster(redis)) return clientsOf(await redis.info("clients"));
  const counts = await Promise.all(redis.nodes("master").map(async (n) => clientsOf(await n.info("clients"))));
  return counts.reduce((a, b) => a + b, 0);
};

/** The web's CPU and PostgreSQL's transactions per second while every stream is open and nothing is published. */
async function idlePhase(o: FanoutOptions): Promise<FanoutResult["idle"]> {
  if (o.idleMs <= 0) return null;
  const txBefore = await postgresTransactions(o.databaseUrl);
  const cpuBefore = cpuSeconds(o.webPid);
  const started = performance.now();
  await sleep(o.idleMs);
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpuSeconds(o.webPid) - cpuBefore;
  // The two reads of the count are transactions of their own: one is taken off.
  const tx = (await postgresTransactions(o.databaseUrl)) - txBefore - 1;
  return { seconds, webCpuPercent: (cpu / seconds) * 100, postgresTransactionsPerSecond: tx / seconds };
}

const MARK = /bench@(\d+\.\d+)@/;

/** One browser session that owns `orders` fresh order ids (claimed in Valkey as the web would): what SSE scenarios stream. */
export async function sessionWithOrders(
  webUrl: string,
  redis: ValkeyClient,
  orders: number,
): Promise<{ session: WebSession; orderIds: string[] }> {
  const session = await newSession(webUrl);
  const sessionId = /qs_session=([^;]+)/.exec(session.cookie)?.[1];
  if (!sessionId) throw new Error("no session id");
  const ownership = createOwnershipStore(redis, 3600);
  const orderIds = Array.from({ length: orders }, () => uuidv7());
  for (let i = 0; i < orderIds.length; i += 100)
    await Promise.all(orderIds.slice(i, i + 100).map((id) => ownership.claim("order", id, sessionId)));
  return { session, orderIds };
}

export async function sseFanout(o: FanoutOptions): Promise<FanoutResult> {
  const logger = createLogger({ name: "bench", level: "warn", format: "json" });
  const { session, orderIds } = await sessionWithOrders(o.webUrl, o.redis, o.orders);

  await sleep(500);
  const rssBefore = rssKb(o.webPid);
  const latencies: number[] = [];
  let measuring = false;
  const sockets: http.ClientRequest[] = [];
  let connected = 0;

  const connectOne = (orderId: string) =>
    new Promise<void>((resolve, reject) => {
      const req = http.get(`${o.webUrl}/orders/${orderId}/events`, {
        agent: false,
        headers: { accept: "text/event-stream", cookie: session.cookie },
      });
      sockets.push(req);
      req.once("error", reject);
      req.once("response", (res) => {
        if (res.statusCode !== 200) return reject(new Error(`SSE answered ${res.statusCode}`));
        const parser = new SseParser();
        let first = true;
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          const now = performance.now();
          for (const e of parser.feed(chunk)) {
            if (first) {
              first = false;
              connected++;
              resolve();
            }
            const mark = MARK.exec(e.data);
            if (mark && measuring) latencies.push(now - Number(mark[1]));
          }
        });
        res.on("error", () => undefined);
      });
    });

  // Connected in two halves, with the RSS read after each: the second half's growth is what one
  // more connection costs (the margin), apart from what the first burst of load costs once
  // (the young generation growing to its working size, code compiled, buffers).
  const parallel = 100;
  let next = 0;
  let connectSeconds = 0;
  const connectUpTo = async (upTo: number) => {
    const t = performance.now();
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        while (next < upTo) {
          const i = next++;
          await connectOne(orderIds[i % orderIds.length]!);
        }
      }),
    );
    connectSeconds += (performance.now() - t) / 1000;
    await sleep(2_000);
    return rssKb(o.webPid);
  };
  const half = Math.floor(o.clients / 2);
  const rssHalf = await connectUpTo(half);
  const rssConnected = await connectUpTo(o.clients);
  await o.afterConnected?.();
  const valkeyConnections = await valkeyClients(o.redis);

  // Publish at a fixed rate: each tick sends the events that are due, round-robin over the orders.
  const publisher = createProgressPublisher(o.redis, logger, { maxLen: 100, ttlSeconds: 600 });
  const seqs = new Map<string, number>();
  let published = 0;
  measuring = true;
  const cpuBefore = cpuSeconds(o.webPid);
  const started = performance.now();
  const inFlight: Array<Promise<unknown>> = [];
  while (performance.now() - started < o.durationMs) {
    const due = Math.floor(((performance.now() - started) / 1000) * o.eventsPerSecond);
    while (published < due) {
      const id = orderIds[published % orderIds.length]!;
      const seq = (seqs.get(id) ?? 0) + 1;
      seqs.set(id, seq);
      published++;
      inFlight.push(
        publisher.publish(
          { kind: "order", id },
          { seq, kind: "step", step: "bench", percent: 50, status: "running", message: `bench@${performance.now().toFixed(3)}@` },
        ),
      );
    }
    await sleep(2);
  }
  await Promise.all(inFlight);
  const cpu = cpuSeconds(o.webPid) - cpuBefore;
  // RSS with every connection open after the publishing phase: the steady state, garbage from the connection burst collected or not.
  const rssSteady = rssKb(o.webPid);
  const seconds = (performance.now() - started) / 1000;
  await sleep(1_000);
  measuring = false;
  const idle = await idlePhase(o);

  const perOrder = new Map<string, number>();
  for (let i = 0; i < o.clients; i++)
    perOrder.set(orderIds[i % orderIds.length]!, (perOrder.get(orderIds[i % orderIds.length]!) ?? 0) + 1);
  let expected = 0;
  for (const [id, events] of seqs) expected += events * (perOrder.get(id) ?? 0);

  for (const req of sockets) req.destroy();
  await sleep(1_000);
  return {
    clients: o.clients,
    connected,
    orders: o.orders,
    eventsPerSecond: o.eventsPerSecond,
    connectSeconds,
    published,
    expectedDeliveries: expected,
    delivered: latencies.length,
    latency: summarize(latencies),
    webRssMb: rssSteady / 1024,
    rssPerConnectionKb: (rssSteady - rssBefore) / o.clients,
    rssPerConnectionAfterConnectKb: (rssConnected - rssBefore) / o.clients,
    marginalRssPerConnectionKb: (rssConnected - rssHalf) / (o.clients - half),
    webCpuPercent: (cpu / seconds) * 100,
    valkeyConnections,
    idle,
  };
}
