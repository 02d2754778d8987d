/**
 * Subscriptions on a Valkey Cluster, placed by the web itself: one subscriber connection per
 * primary that serves a subscribed channel's slot. A resource's channel is a shard channel
 * (SSUBSCRIBE, on the primary of its slot); the order feed is a plain channel (SUBSCRIBE, which a
 * cluster delivers on every node), kept on the primary of its own slot so it shares a connection.
 *
 * Why not the cluster client's own sharded subscribers: after a failover they were placed again
 * and again while the failed primary was still listed, and in loaded runs a stream subscribed in
 * that window heard nothing afterwards, with no sign of it (docs/design.md). Here every channel
 * has one known place; when a connection drops, the slot map is read again until each channel's
 * slot has a primary that answers, the channels that moved are subscribed there, and only then
 * are their listeners told of the gap (they resume from the stream). A connection that comes back
 * by itself resubscribes its channels and reports a gap for them too.
 */
import calculateSlot from "cluster-key-slot";
import { Redis, type Cluster, type RedisOptions } from "ioredis";
import type { ChannelMode, ValkeySubscriber, ValkeySubscriberEvents } from "./valkey-subscriber.ts";

interface Connection {
  redis: Redis;
  channels: Set<string>;
  connectedBefore: boolean;
}

/** How long a subscribe waits for an answer, and for the cluster's slot map at start. */
const SUBSCRIBE_TIMEOUT_MS = 2_000;
/** While a channel's node does not answer, the slot map is read again this often (to at most the cap). */
const REPLACE_FIRST_MS = 250;
const REPLACE_MAX_MS = 2_000;

export function createShardSubscribers(cluster: Cluster, deps: ValkeySubscriberEvents): ValkeySubscriber {
  const connections = new Map<string, Connection>();
  /** Each subscribed channel: its node and how it is subscribed there. */
  const placed = new Map<string, { node: string; mode: ChannelMode }>();
  const nodeOptions: RedisOptions = { ...(cluster.options.redisOptions ?? {}) };
  let replaceTimer: NodeJS.Timeout | null = null;
  let replaceDelay = REPLACE_FIRST_MS;
  let closed = false;

  const ownerOf = (channel: string): string | undefined => cluster.slots[calculateSlot(channel)]?.[0];

  function connection(node: string): Connection {
    const existing = connections.get(node);
    if (existing) return existing;
    const at = node.lastIndexOf(":");
    const redis = new Redis({
      ...nodeOptions,
      host: node.slice(0, at),
      port: Number(node.slice(at + 1)),
      connectionName: "quayside-web-subscriber",
      commandTimeout: SUBSCRIBE_TIMEOUT_MS,
      maxRetriesPerRequest: 1,
      retryStrategy: (times) => Math.min(times * 200, 2_000),
    });
    const c: Connection = { redis, channels: new Set(), connectedBefore: false };
    const onMessage = (channel: string, message: string) => deps.onMessage(channel, message);
    redis.on("message", onMessage);
    redis.on("smessage", onMessage);
    redis.on("error", (err) => deps.logger.debug({ err, node }, "Valkey subscriber connection error"));
    // The node may have failed: ask the cluster who serves its slots now.
    redis.on("close", () => scheduleReplace());
    redis.on("ready", () => {
      // Back by itself (ioredis subscribes its channels again): whatever was published meanwhile was missed.
      if (c.connectedBefore && c.channels.size > 0) deps.onGap([...c.channels], `Valkey subscriber for ${node} reconnected`);
      c.connectedBefore = true;
    });
    connections.set(node, c);
    return c;
  }

  const send = (c: Connection, channel: string, mode: ChannelMode, on: boolean): Promise<unknown> =>
    on
      ? mode === "sharded"
        ? c.redis.ssubscribe(channel)
        : c.redis.subscribe(channel)
      : mode === "sharded"
        ? c.redis.sunsubscribe(channel)
        : c.redis.unsubscribe(channel);

  async function slotMapKnown(): Promise<void> {
    if (cluster.status === "ready") return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        cluster.off("ready", ready);
        reject(new Error("the Valkey cluster's slot map is not known yet"));
      }, SUBSCRIBE_TIMEOUT_MS);
      const ready = () => {
        clearTimeout(timer);
        resolve();
      };
      cluster.once("ready", ready);
    });
  }

  /** Subscribes `channel` on the primary of its slot; resolves once that node has acknowledged it. */
  async function subscribe(channel: string, mode: ChannelMode): Promise<void> {
    await slotMapKnown();
    const node = ownerOf(channel);
    if (!node) throw new Error(`no Valkey node serves the slot of ${channel} yet`);
    const c = connection(node);
    placed.set(channel, { node, mode });
    c.channels.add(channel);
    try {
      await send(c, channel, mode, true);
    } catch (err) {
      forget(channel).catch(() => undefined);
      scheduleReplace();
      throw err;
    }
  }

  function forget(channel: string): Promise<unknown> {
    const at = placed.get(channel);
    if (!at) return Promise.resolve();
    placed.delete(channel);
    const c = connections.get(at.node);
    if (!c?.channels.delete(channel) || c.redis.status !== "ready") return Promise.resolve();
    return send(c, channel, at.mode, false);
  }

  /** Unsubscribes channels nobody listens to any more. */
  async function unsubscribe(channels: string[]): Promise<void> {
    await Promise.all(
      channels.map((channel) =>
        forget(channel).catch((err: unknown) => deps.logger.debug({ err, channel }, "unsubscribe failed")),
      ),
    );
  }

  function scheduleReplace(): void {
    if (replaceTimer || closed) return;
    replaceTimer = setTimeout(() => {
      replaceTimer = null;
      cluster.refreshSlotsCache(() => replace());
    }, replaceDelay);
    replaceTimer.unref();
  }

  /**
   * After the slot map was read again: every channel whose slot has another primary now is
   * subscribed there, and its listeners hear of the gap once that node has acknowledged it.
   * While some channel's node still does not answer, the map is read again, less and less often.
   */
  function replace(): void {
    if (closed) return;
    const moves: Array<Promise<string | null>> = [];
    for (const [channel, at] of placed) {
      const owner = ownerOf(channel);
      if (!owner || owner === at.node) continue;
      const old = connections.get(at.node);
      old?.channels.delete(channel);
      if (old?.redis.status === "ready") send(old, channel, at.mode, false).catch(() => undefined);
      placed.set(channel, { node: owner, mode: at.mode });
      const target = connection(owner);
      target.channels.add(channel);
      moves.push(
        send(target, channel, at.mode, true).then(
          () => channel,
          (err: unknown) => {
            deps.logger.debug({ err, channel, node: owner }, "subscribe on the new node failed; trying again");
            // Unplaced: the next reading of the slot map subscribes it again.
            if (placed.get(channel)?.node === owner) placed.set(channel, { node: "", mode: at.mode });
            target.channels.delete(channel);
            return null;
          },
        ),
      );
    }
    // A connection left with no channel is closed: a failed primary's stops reconnecting.
    for (const [node, c] of connections) {
      if (c.channels.size > 0) continue;
      connections.delete(node);
      c.redis.disconnect();
    }
    void Promise.all(moves).then((done) => {
      const moved = done.filter((c): c is string => c !== null);
      if (moved.length > 0) deps.onGap(moved, "Valkey channels moved to another primary");
      const stranded = moved.length < done.length || [...connections.values()].some((c) => c.redis.status !== "ready");
      if (!stranded) {
        replaceDelay = REPLACE_FIRST_MS;
        return;
      }
      replaceDelay = Math.min(replaceDelay * 2, REPLACE_MAX_MS);
      scheduleReplace();
    });
  }

  function close(): void {
    closed = true;
    if (replaceTimer) clearTimeout(replaceTimer);
    for (const c of connections.values()) c.redis.disconnect();
    connections.clear();
    placed.clear();
  }

  return { subscribe, unsubscribe, close };
}
