/**
 * The Lua scripts as Valkey commands, against a real server: each runs by its hash once loaded,
 * survives the server forgetting it (SCRIPT FLUSH), and touches only the keys it declares. The
 * ownership store's claim, access check and sign-in transfer keep their meaning.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { createLogger } from "../shared/logger.ts";
import { channelName, ORDER_FEED_CHANNEL, orderFeedMessageSchema, streamKey } from "../shared/progress-event.ts";
import { waitUntil } from "./helpers/browser-client.ts";
import { freePort, type Managed } from "../scripts/stack/processes.ts";
import { startValkey } from "../scripts/stack/valkey.ts";
import { createOwnershipStore } from "../web/adapters/ownership.store.ts";
import { createProgressPublisher } from "../worker/adapters/progress-publisher.ts";

describe("Valkey scripts as commands", () => {
  let valkey: Managed;
  let redis: Redis;
  let monitor: Redis;
  let dataDir: string;
  const seen: string[][] = [];

  before(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), "quayside-valkey-scripts-"));
    const port = await freePort();
    valkey = await startValkey({ port, dataDir, logFile: path.join(dataDir, "valkey.log") });
    redis = new Redis(port, "127.0.0.1");
    monitor = await redis.monitor();
    monitor.on("monitor", (_time: string, args: string[]) => seen.push(args));
  });
  after(async () => {
    monitor?.disconnect();
    redis?.disconnect();
    await valkey?.stop(5_000);
    rmSync(dataDir, { recursive: true, force: true });
  });

  let marks = 0;
  /** Sends a marker command and waits until MONITOR has shown it: everything before it has been shown too. */
  async function mark(): Promise<number> {
    const label = `observe-mark-${++marks}`;
    await redis.echo(label);
    const at = (): number => seen.findIndex((c) => c[0]?.toLowerCase() === "echo" && c[1] === label);
    await waitUntil(`MONITOR to show ${label}`, () => at() >= 0);
    return at();
  }

  /** The commands Valkey received while `fn` ran (MONITOR shows scripts' inner calls too), between two markers. */
  async function observe(fn: () => Promise<unknown>): Promise<string[][]> {
    const from = await mark();
    await fn();
    const to = await mark();
    return seen.slice(from + 1, to);
  }

  it("claims once per id, sends the script once and then only its hash, and reloads it after a flush", async () => {
    const store = createOwnershipStore(redis, 600);
    const first = await observe(() => store.claim("order", "o-1", "alice"));
    const second = await observe(() => store.claim("order", "o-2", "alice"));
    const names = (cmds: string[][]) => cmds.map((c) => c[0]?.toLowerCase());
    assert.ok(names(first).includes("eval") || names(first).includes("evalsha"));
    assert.ok(names(second).includes("evalsha"), `expected EVALSHA, got ${names(second).join(" ")}`);
    assert.ok(!names(second).includes("eval"), "the script text is not sent again on the same connection");
    assert.equal(await store.claim("order", "o-1", "bob"), false, "another session cannot take a claimed id");
    assert.equal(await store.owns("order", "o-1", "alice"), true);
    assert.equal(await store.owns("order", "o-1", "bob"), false);

    await redis.script("FLUSH");
    assert.equal(await store.claim("order", "o-3", "alice"), true, "NOSCRIPT is handled by loading the script again");
    assert.deepEqual((await store.list("order", "alice")).sort(), ["o-1", "o-2", "o-3"]);
  });

  it("transfers a session's resources in calls of one key each, so a cluster can serve every one", async () => {
    const store = createOwnershipStore(redis, 600);
    await store.claim("order", "t-1", "before");
    await store.claim("content", "t-2", "before");
    await store.grant("order", "t-3", "before"); // listed through a signed link, owned by someone else
    await store.claim("order", "t-3", "someone-else");
    const cmds = await observe(() => store.transfer("before", "after"));

    // Each script declares one key, and nothing renames a key (a new name may be another slot).
    const scripts = cmds.filter((c) => ["evalsha", "eval"].includes(c[0]!.toLowerCase()));
    assert.ok(scripts.length > 0, "the transfer runs scripts");
    for (const c of scripts) assert.equal(c[2], "1", `${c.join(" ")} declares one key`);
    assert.ok(cmds.every((c) => c[0]!.toLowerCase() !== "rename"));

    assert.equal(await store.owns("order", "t-1", "after"), true);
    assert.equal(await store.owns("content", "t-2", "after"), true);
    assert.equal(await store.owns("order", "t-1", "before"), false);
    assert.equal(await store.owns("order", "t-3", "after"), true, "a granted resource stays granted");
    assert.equal(await redis.get("owner:order:t-1"), "after", "the claim moved with its session");
    assert.equal(await redis.get("owner:order:t-3"), "someone-else", "the claim of a granted resource does not move");
    assert.ok((await redis.ttl("owner:order:t-1")) > 0, "the owner key keeps its expiry");
    assert.deepEqual((await store.list("order", "after")).sort(), ["t-1", "t-3"]);
    assert.equal(await store.claim("order", "t-1", "after"), true, "a second submit by the new session is its own");
    assert.equal(await store.claim("order", "t-1", "before"), false, "the old session no longer holds it");
  });

  it("lists a claim in one script call, no MULTI, with the list's expiry; a session of 5,000 ids moves whole", async () => {
    const store = createOwnershipStore(redis, 600);
    await store.claim("order", "warm-up", "lister"); // the scripts' text goes once per connection
    const cmds = await observe(() => store.claim("order", "l-1", "lister"));
    const names = cmds.map((c) => c[0]!.toLowerCase());
    assert.ok(!names.includes("multi"), `a claim runs no transaction: ${names.join(" ")}`);
    assert.equal(names.filter((n) => n === "evalsha").length, 2, "the claim and the listing, one script call each");
    assert.ok((await redis.ttl("session:lister:order")) > 0, "the session's list expires");

    // More pairs than one ZADD of the script takes at a time (Lua's unpack has a limit).
    const many = Array.from({ length: 5_000 }, (_, i) => `m-${i}`);
    await redis.zadd("session:big-before:order", ...many.flatMap((id, i) => [i, id]));
    await store.transfer("big-before", "big-after");
    assert.equal(await redis.zcard("session:big-after:order"), many.length);
    assert.equal(await redis.exists("session:big-before:order"), 0);
  });

  it("progress events are appended and announced by a command, and a replayed seq is refused", async () => {
    const publisher = createProgressPublisher(redis, createLogger({ name: "test", level: "silent", format: "json" }), {
      maxLen: 100,
      ttlSeconds: 600,
    });
    const draft = { seq: 1, kind: "step" as const, step: "s", percent: 10, status: "running" as const, message: "m" };
    const cmds = await observe(() => publisher.publish({ kind: "order", id: "p-1" }, draft));
    assert.ok(cmds.some((c) => ["evalsha", "eval"].includes(c[0]!.toLowerCase())));
    assert.equal((await publisher.publish({ kind: "order", id: "p-1" }, draft)).outcome, "duplicate");
    assert.equal(await redis.xlen(streamKey({ kind: "order", id: "p-1" })), 1);
  });

  it("announces order events, and only those, on the shared order feed in the same script call", async () => {
    const publisher = createProgressPublisher(redis, createLogger({ name: "test", level: "silent", format: "json" }), {
      maxLen: 100,
      ttlSeconds: 600,
    });
    const listener = redis.duplicate();
    const END = "end of this test's publishes";
    const heard: unknown[] = [];
    let ended = false;
    listener.on("message", (channel: string, message: string) => {
      if (channel !== ORDER_FEED_CHANNEL) return;
      if (message === END) ended = true;
      else heard.push(orderFeedMessageSchema.parse(JSON.parse(message)));
    });
    await listener.subscribe(ORDER_FEED_CHANNEL);
    try {
      const draft = { seq: 1, kind: "step" as const, step: "received", percent: 5, status: "running" as const, message: "m" };
      await publisher.publish({ kind: "order", id: "feed-1" }, draft);
      await publisher.publish({ kind: "order", id: "feed-1" }, draft); // a replay: not announced again
      await publisher.publish({ kind: "content", id: "feed-2" }, draft);
      await publisher.publish({ kind: "order", id: "feed-3" }, { ...draft, seq: 2, step: "persisted" });
      // A channel's messages reach a subscriber in the order they were published: once this one is
      // heard, every announcement of the publishes above has been too.
      await redis.publish(ORDER_FEED_CHANNEL, END);
      await waitUntil("the end marker on the order feed", () => ended);
      assert.deepEqual(
        heard.map((m) => {
          const { id, event } = m as { id: string; event: { seq: number; step: string } };
          return [id, event.seq, event.step];
        }),
        [
          ["feed-1", 1, "received"],
          ["feed-3", 2, "persisted"],
        ],
      );
    } finally {
      listener.disconnect();
    }
  });

  it("delivers a dropped progress event again once Valkey is back, so an open page still sees it", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "quayside-valkey-redeliver-"));
    const port = await freePort();
    const start = () => startValkey({ port, dataDir: dir, logFile: path.join(dir, "valkey.log") });
    let server = await start();
    // The publisher's connection stays down until the test reconnects it, once a listener is
    // subscribed: an announcement made before that would reach nobody.
    let reconnect = false;
    const conn = new Redis(port, "127.0.0.1", { maxRetriesPerRequest: 1, retryStrategy: () => (reconnect ? 100 : null) });
    conn.on("error", () => undefined);
    const logger = createLogger({ name: "test", level: "silent", format: "json" });
    const publisher = createProgressPublisher(conn, logger, { maxLen: 100, ttlSeconds: 60, attempts: 2, backoffMs: 20 });
    const resource = { kind: "order" as const, id: "01a20000-0000-7000-8000-00000000cafe" };
    const event = (seq: number, kind: "step" | "terminal") => ({
      seq,
      kind,
      step: kind === "terminal" ? "fulfilled" : "paid",
      percent: kind === "terminal" ? 100 : 60,
      status: kind === "terminal" ? ("succeeded" as const) : ("running" as const),
      message: kind,
    });
    try {
      assert.equal((await publisher.publish(resource, event(1, "step"))).outcome, "appended");
      await server.stop(5_000);
      // The order's last event, published while Valkey is away: dropped, as the contract says.
      assert.equal((await publisher.publish(resource, event(2, "terminal"))).outcome, "dropped");
      server = await start();
      const listener = new Redis(port, "127.0.0.1");
      const heard: string[] = [];
      listener.on("message", (_c: string, m: string) => heard.push(m));
      await listener.subscribe(channelName(resource));
      reconnect = true;
      await conn.connect();
      try {
        await waitUntil("the dropped event to be delivered again", async () =>
          (await conn.xlen(streamKey(resource)).catch(() => 0)) === 2 && heard.length > 0 ? true : null,
        );
        assert.equal(JSON.parse(heard[0] ?? "{}").seq, 2, "announced to whoever listens");
      } finally {
        listener.disconnect();
      }
    } finally {
      conn.disconnect();
      await server.stop(5_000);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
