/**
 * SSE delivery under pressure, against real Valkey and Restate: a client that stops reading is cut
 * off at its buffer limit, streams end after their maximum duration with a `retry:` hint, the
 * per-session limit answers 429, shutdown ends every stream, and one subscriber connection serves
 * many clients of many resources, unsubscribing when the last client of a resource leaves.
 */
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { v7 as uuidv7 } from "uuid";
import { loadConfig } from "../shared/config.ts";
import { webConfigSchema } from "../shared/web-config.schema.ts";
import { createLogger } from "../shared/logger.ts";
import { channelName, type ProgressDraft } from "../shared/progress-event.ts";
import { createWebListener } from "../web/app.ts";
import { createOwnershipStore } from "../web/adapters/ownership.store.ts";
import { wireWeb, type WebWiring } from "../web/wiring.ts";
import { createProgressPublisher } from "../worker/adapters/progress-publisher.ts";
import { SseParser } from "../scripts/lib/sse-parser.ts";
import { BrowserClient, waitUntil } from "./helpers/browser-client.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";

interface Web {
  url: string;
  wiring: WebWiring;
  close(): Promise<void>;
}

/** A raw SSE connection: the bytes as they arrive, and control over reading (a client that stalls). */
interface RawSse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text(): string;
  ended: Promise<"end" | "error">;
  pause(): void;
  resume(): void;
  close(): void;
}

describe("SSE hardening", () => {
  let stack: TestStack;
  let redis: Redis;
  const webs: Web[] = [];
  const logger = createLogger({ name: "sse-test", level: "silent", format: "json" });

  before(async () => {
    // No worker: order snapshots fall back to "nothing happened yet", and events come from the publisher.
    stack = await startTestStack("sse-hardening", { worker: false });
    redis = new Redis(stack.services.valkeyUrl);
    pub = createProgressPublisher(redis, logger, { maxLen: 1000, ttlSeconds: 600 });
  });
  after(async () => {
    for (const w of webs) await w.close();
    redis?.disconnect();
    await stack?.stop();
  });

  async function startWeb(env: NodeJS.ProcessEnv = {}): Promise<Web> {
    const config = loadConfig(webConfigSchema, { ...stack.env, ...env });
    const wiring = wireWeb(config, logger);
    const server = http.createServer(createWebListener(wiring.deps));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const web: Web = {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      wiring,
      async close() {
        server.closeAllConnections();
        await new Promise((r) => server.close(r));
        await wiring.close();
      },
    };
    webs.push(web);
    return web;
  }

  let pub: ReturnType<typeof createProgressPublisher>;
  const publish = (orderId: string, seq: number, message = `step ${seq}`) => {
    const draft: ProgressDraft = { seq, kind: "step", step: "bench", percent: 10, status: "running", message };
    return pub.publish({ kind: "order", id: orderId }, draft);
  };

  /** A browser session that owns `count` fresh order ids. */
  async function sessionWithOrders(web: Web, count: number) {
    const client = new BrowserClient(web.url);
    await client.get("/");
    const sessionId = client.sessionId;
    assert.ok(sessionId);
    const ownership = createOwnershipStore(redis, 3600);
    const orders: string[] = [];
    for (let i = 0; i < count; i++) {
      const id = uuidv7();
      assert.ok(await ownership.claim("order", id, sessionId));
      orders.push(id);
    }
    return { client, orders };
  }

  function openRaw(web: Web, client: BrowserClient, path: string, headers: Record<string, string> = {}): Promise<RawSse> {
    return new Promise((resolve, reject) => {
      const req = http.get(`${web.url}${path}`, {
        headers: { cookie: client.cookieHeader(), accept: "text/event-stream", ...headers },
      });
      req.once("error", reject);
      req.once("response", (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        const ended = new Promise<"end" | "error">((done) => {
          res.once("end", () => done("end"));
          res.once("error", () => done("error"));
          res.once("aborted", () => done("error"));
          req.once("error", () => done("error"));
        });
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text: () => text,
          ended,
          pause: () => res.pause(),
          resume: () => res.resume(),
          close: () => req.destroy(),
        });
      });
    });
  }

  const metric = async (web: Web, name: string) => {
    const m = await web.wiring.deps.sseRegistry.getSingleMetricAsString(name);
    return Number(/ (\d+(?:\.\d+)?)$/m.exec(m)?.[1] ?? NaN);
  };

  it("closes the stream of a client that stops reading once its buffer limit is passed", async () => {
    const web = await startWeb({ SSE_MAX_BUFFER_BYTES: "16384" });
    const { client, orders } = await sessionWithOrders(web, 1);
    const orderId = orders[0]!;
    const sse = await openRaw(web, client, `/orders/${orderId}/events`);
    assert.equal(sse.status, 200);
    await waitUntil("the snapshot frame", () => sse.text().includes("event: progress"));
    sse.pause();
    // Publish until the kernel's socket buffers are full and the server's own buffer passes 16 KiB.
    const padding = "x".repeat(450);
    let seq = 0;
    while ((await metric(web, "quayside_sse_slow_closes_total")) === 0) {
      assert.ok(seq < 40_000, "the stream was never closed for slowness");
      await Promise.all(Array.from({ length: 250 }, () => publish(orderId, ++seq, `${padding} ${seq}`)));
    }
    await waitUntil("the listener to be gone", () => web.wiring.deps.hub.stats().clients === 0);
    assert.equal(web.wiring.deps.sseStreams?.size, 0);
    // The channel is unsubscribed with the others that came idle meanwhile, a moment later.
    const numsub = async () =>
      Number(((await redis.pubsub("NUMSUB", channelName({ kind: "order", id: orderId }))) as [string, number])[1]);
    await waitUntil("nobody listens for the order any more", async () => (await numsub()) === 0);
    sse.resume();
    assert.equal(await sse.ended, "error", "the connection was cut, not ended cleanly");
    const received = new SseParser().feed(sse.text()).flatMap((e) => (e.id === null ? [] : [Number(e.id)]));
    assert.ok(received.length < seq, `only part of the ${seq} events arrived (${received.length})`);

    // The browser reconnects with the last id it has and gets what it missed, up to the newest event.
    const resumed = await client.sse(`/orders/${orderId}/events`, {
      lastEventId: String(received.at(-1) ?? 0),
      stopWhen: (e) => e.id === String(seq),
      timeoutMs: 10_000,
    });
    assert.equal(resumed.events.at(-1)?.id, String(seq));
    assert.equal(await metric(web, "quayside_sse_replays_total"), 1);
  });

  it("sends keep-alive comments and ends a stream after its maximum duration with a retry hint", async () => {
    const web = await startWeb({ SSE_MAX_DURATION_MS: "400", SSE_RETRY_MS: "1234", SSE_KEEPALIVE_MS: "100" });
    const { client, orders } = await sessionWithOrders(web, 1);
    const sse = await openRaw(web, client, `/orders/${orders[0]}/events`);
    assert.equal(sse.status, 200);
    assert.equal(await sse.ended, "end");
    assert.match(sse.text(), /event: progress/);
    assert.match(sse.text(), /^: keep-alive\n\n/m);
    assert.match(sse.text(), /retry: 1234\n\n$/);
    assert.equal(web.wiring.deps.sseStreams?.size, 0);
  });

  it("answers 429 beyond the per-session limit of concurrent streams", async () => {
    const web = await startWeb({ SSE_MAX_PER_SESSION: "2" });
    const { client, orders } = await sessionWithOrders(web, 3);
    const a = await openRaw(web, client, `/orders/${orders[0]}/events`);
    const b = await openRaw(web, client, `/orders/${orders[1]}/events`);
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    const refused = await client.get(`/orders/${orders[2]}/events`, { accept: "text/event-stream" });
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.res.headers.get("retry-after")) > 0);
    assert.equal(await metric(web, "quayside_sse_refused_total"), 1);
    // Another session is not affected, and a closed stream frees its slot.
    const other = await sessionWithOrders(web, 1);
    const c = await openRaw(web, other.client, `/orders/${other.orders[0]}/events`);
    assert.equal(c.status, 200);
    a.close();
    await waitUntil("the slot to be freed", () => web.wiring.deps.sseStreams?.size === 2);
    const d = await openRaw(web, client, `/orders/${orders[2]}/events`);
    assert.equal(d.status, 200);
    for (const s of [b, c, d]) s.close();
  });

  it("ends every stream on shutdown with a retry hint and refuses new ones", async () => {
    const web = await startWeb({ SSE_RETRY_MS: "700" });
    const { client, orders } = await sessionWithOrders(web, 2);
    const streams = await Promise.all(orders.map((id) => openRaw(web, client, `/orders/${id}/events`)));
    await waitUntil("both streams", () => streams.every((s) => s.text().includes("event: progress")));
    assert.equal(web.wiring.endStreams(), 2);
    for (const s of streams) {
      assert.equal(await s.ended, "end");
      assert.match(s.text(), /retry: 700\n\n$/);
    }
    const refused = await client.get(`/orders/${orders[0]}/events`, { accept: "text/event-stream" });
    assert.equal(refused.status, 503);
  });

  it("serves many clients of many orders over one subscriber connection, and unsubscribes after the last one", async () => {
    // Connections other webs of this file opened before are not this web's.
    const idOf = (line: string) => /\bid=(\d+)/.exec(line)?.[1];
    const earlier = new Set(((await redis.client("LIST")) as string).split("\n").map(idOf));
    const web = await startWeb();
    const sessions = await Promise.all(Array.from({ length: 4 }, () => sessionWithOrders(web, 3)));
    // Every session watches each of its 3 orders twice (its limit of 6): 24 streams over 12 orders.
    const streams = await Promise.all(
      sessions.flatMap(({ client, orders }) =>
        orders.flatMap((id) => [0, 1].map(async () => ({ id, sse: await openRaw(web, client, `/orders/${id}/events`) }))),
      ),
    );
    assert.ok(streams.every((s) => s.sse.status === 200));
    const open = streams;
    await waitUntil("every stream subscribed", () => open.every((s) => s.sse.text().includes("event: progress")));
    const watched = [...new Set(open.map((s) => s.id))];
    assert.equal(web.wiring.deps.hub.stats().channels, watched.length);

    const list = (await redis.client("LIST")) as string;
    const subscribers = list.split("\n").filter((line) => /\bsub=[1-9]/.test(line) && !earlier.has(idOf(line)));
    assert.equal(subscribers.length, 1, `one subscriber connection, not ${subscribers.length}`);
    assert.match(subscribers[0]!, new RegExp(`\\bsub=${watched.length}\\b`));
    const numsub = (await redis.pubsub("NUMSUB", ...watched.map((id) => channelName({ kind: "order", id })))) as Array<
      string | number
    >;
    for (let i = 1; i < numsub.length; i += 2) assert.equal(Number(numsub[i]), 1);

    // One publish reaches every client of that order, in-process.
    const target = watched[0]!;
    await publish(target, 1, "fan-out check");
    const ofTarget = open.filter((s) => s.id === target);
    await waitUntil("every client of the order got the event", () =>
      ofTarget.every((s) => s.sse.text().includes("fan-out check")),
    );
    assert.ok(open.filter((s) => s.id !== target).every((s) => !s.sse.text().includes("fan-out check")));

    // The channel stays while one client remains, and goes with the last.
    const channel = channelName({ kind: "order", id: target });
    const numsubOf = async () => Number(((await redis.pubsub("NUMSUB", channel)) as [string, number])[1]);
    ofTarget[0]!.sse.close();
    await waitUntil("the first client gone", () => web.wiring.deps.hub.stats().clients === open.length - 1);
    assert.equal(await numsubOf(), 1);
    for (const s of ofTarget.slice(1)) s.sse.close();
    await waitUntil("the channel unsubscribed", async () => (await numsubOf()) === 0);
    assert.equal(web.wiring.deps.hub.stats().channels, watched.length - 1);
    for (const s of open) s.sse.close();
    await waitUntil("every channel unsubscribed", () => web.wiring.deps.hub.stats().channels === 0);
  });

  it("opens one subscriber per stream only behind the bench switch SSE_NAIVE_SUBSCRIBER", async () => {
    const web = await startWeb({ SSE_NAIVE_SUBSCRIBER: "true" });
    const { client, orders } = await sessionWithOrders(web, 3);
    const streams = await Promise.all(orders.map((id) => openRaw(web, client, `/orders/${id}/events`)));
    await waitUntil("every stream subscribed", () => streams.every((s) => s.text().includes("event: progress")));
    assert.equal(web.wiring.deps.hub.stats().naiveConnections, 3);
    await publish(orders[1]!, 1, "naive delivery");
    await waitUntil("the event", () => streams[1]!.text().includes("naive delivery"));
    for (const s of streams) s.close();
    await waitUntil("the naive connections closed", () => web.wiring.deps.hub.stats().naiveConnections === 0);
  });
});
