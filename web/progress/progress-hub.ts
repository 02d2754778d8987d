/**
 * Progress for the web's SSE streams. Valkey subscriptions shared by the whole process, one
 * channel per resource while at least one client listens, fanning each event out in-process;
 * replays come from the resource's stream (progress-replay.ts), so a reconnecting client misses
 * nothing.
 *
 * While a subscriber connection is down, events go by unseen (and the worker drops what it cannot
 * publish). When it is back, `onGap` runs for every subscription it carries, so its stream can
 * make the browser reconnect and pick up the durable snapshot, which has whatever was missed.
 *
 * Besides the per-resource channels, the hub can listen to the order feed (every order's events on
 * one channel, for operators' live views): one more channel beside them.
 *
 * The connections are a `ValkeySubscriber` picked once, at start: on a single node one connection
 * (node-subscriber.ts); on a cluster, where the resource channels are shard channels and the order
 * feed a plain channel, one connection per primary that serves a subscribed channel
 * (shard-subscribers.ts), so after a failover only the streams of the channels that moved hear of
 * the gap.
 */
import type { Redis } from "ioredis";
import type { Logger } from "../../shared/logger.ts";
import { isCluster, type ValkeyClient } from "../../shared/valkey-client.ts";
import { createNaiveSubscriptions } from "./naive-subscriptions.ts";
import { createNodeSubscriber } from "./node-subscriber.ts";
import { createProgressReplay } from "./progress-replay.ts";
import { createShardSubscribers } from "./shard-subscribers.ts";
import type { ValkeySubscriberEvents } from "./valkey-subscriber.ts";
import {
  channelName,
  ORDER_FEED_CHANNEL,
  orderFeedMessageSchema,
  progressEventSchema,
  resourceFromChannel,
  type OrderFeedMessage,
  type ProgressEvent,
  type ResourceRef,
} from "../../shared/progress-event.ts";

/** One open stream's end of a subscription: live events, and word when live delivery had a gap. */
export interface ProgressSubscriber {
  onEvent(event: ProgressEvent): void;
  /** Live delivery was interrupted (the connection to Valkey was lost and is back). */
  onGap(): void;
}

/** The listener of the order feed: every order's events, and word when delivery had a gap. */
export interface OrderFeedSubscriber {
  onOrderEvent(message: OrderFeedMessage): void;
  onGap(): void;
}

export interface ProgressHubDeps {
  /** Subscriptions only; on a cluster it may be the `commands` client itself (the subscribers are connections of their own). */
  subscriber: ValkeyClient;
  commands: ValkeyClient;
  logger: Logger;
  /**
   * Bench-only (SSE_NAIVE_SUBSCRIBER): opens one subscriber connection per listener instead of
   * sharing `subscriber`, so `npm run bench` can measure what the shared connection saves.
   */
  naiveSubscriber?: (() => Redis) | undefined;
}

/**
 * How long a channel nobody listens to any more stays subscribed. Its UNSUBSCRIBE goes out with the
 * others that came due meanwhile, in one command, and a client back within that time (a reload, a
 * reconnect) finds it still subscribed: one write to Valkey per batch of ended streams, not per stream.
 */
const UNSUBSCRIBE_AFTER_MS = 200;

interface Channel {
  listeners: Set<ProgressSubscriber>;
  /** Settles when SUBSCRIBE has been acknowledged: every listener waits for it, not only the first. */
  ready: Promise<unknown>;
}

export function createProgressHub(deps: ProgressHubDeps) {
  const channels = new Map<string, Channel>();
  const gapHandlers = new Set<{ onGap(): void }>();
  const feedListeners = new Set<OrderFeedSubscriber>();
  let feedReady: Promise<unknown> | null = null;
  /** Channels whose last listener left, to be unsubscribed together (see UNSUBSCRIBE_AFTER_MS). */
  const idle = new Set<string>();
  let idleTimer: NodeJS.Timeout | null = null;

  /** Live delivery had a gap on these channels: their streams (those subscribed by now) resync. */
  const resync = (channelsHit: string[], why: string) => {
    const hit = channelsHit.flatMap((c): Array<{ onGap(): void }> =>
      c === ORDER_FEED_CHANNEL ? [...feedListeners] : [...(channels.get(c)?.listeners ?? [])],
    );
    const streams = hit.filter((s) => gapHandlers.has(s));
    deps.logger.info({ streams: streams.length }, `${why}: resyncing open progress streams`);
    for (const s of streams) s.onGap();
  };
  const events: ValkeySubscriberEvents = {
    logger: deps.logger,
    onMessage: (channel, message) => onMessage(channel, message),
    onGap: resync,
  };
  const valkey = isCluster(deps.subscriber)
    ? createShardSubscribers(deps.subscriber, events)
    : createNodeSubscriber(deps.subscriber, events);

  const parseMessage = (channel: string, message: string): ProgressEvent | null => {
    if (!resourceFromChannel(channel)) return null;
    try {
      return progressEventSchema.parse(JSON.parse(message));
    } catch (err) {
      deps.logger.warn({ err, channel }, "ignored a malformed progress message");
      return null;
    }
  };

  const fanOut = (listeners: Iterable<Pick<ProgressSubscriber, "onEvent">>, event: ProgressEvent) => {
    for (const l of listeners) {
      try {
        l.onEvent(event);
      } catch (err) {
        // One broken stream must not keep the event from the others.
        deps.logger.warn({ err }, "a progress listener failed");
      }
    }
  };

  const onMessage = (channel: string, message: string) => {
    if (channel === ORDER_FEED_CHANNEL) return fanOutFeed(message);
    const ch = channels.get(channel);
    if (!ch || ch.listeners.size === 0) return;
    const event = parseMessage(channel, message);
    if (event) fanOut(ch.listeners, event);
  };
  const naive = deps.naiveSubscriber
    ? createNaiveSubscriptions({
        connect: deps.naiveSubscriber,
        logger: deps.logger,
        parse: parseMessage,
        deliver: (listener, event) => fanOut([listener], event),
      })
    : null;

  function fanOutFeed(message: string): void {
    let parsed: OrderFeedMessage;
    try {
      parsed = orderFeedMessageSchema.parse(JSON.parse(message));
    } catch (err) {
      deps.logger.warn({ err, channel: ORDER_FEED_CHANNEL }, "ignored a malformed order feed message");
      return;
    }
    for (const l of feedListeners) {
      try {
        l.onOrderEvent(parsed);
      } catch (err) {
        deps.logger.warn({ err }, "an order feed listener failed");
      }
    }
  }

  /** Starts delivering every order's events to `listener`; resolves once subscribed. Ends with `unsubscribeOrderFeed`. */
  async function subscribeOrderFeed(listener: OrderFeedSubscriber): Promise<void> {
    if (!feedReady) {
      const ready = valkey.subscribe(ORDER_FEED_CHANNEL, "plain");
      feedReady = ready;
      // A failed SUBSCRIBE is forgotten, so the next listener tries again.
      ready.catch(() => feedReady === ready && (feedReady = null));
    }
    feedListeners.add(listener);
    try {
      await feedReady;
    } catch (err) {
      feedListeners.delete(listener);
      throw err;
    }
    gapHandlers.add(listener);
  }

  function unsubscribeOrderFeed(listener: OrderFeedSubscriber): void {
    gapHandlers.delete(listener);
    if (!feedListeners.delete(listener) || feedListeners.size > 0) return;
    feedReady = null;
    valkey
      .unsubscribe([ORDER_FEED_CHANNEL])
      .catch((err: unknown) => deps.logger.debug({ err, channel: ORDER_FEED_CHANNEL }, "unsubscribe failed"));
  }

  /**
   * Starts delivering live events for `resource` to `subscriber` (and gaps in that delivery);
   * resolves once subscribed. Each subscription ends with `unsubscribe`.
   */
  async function subscribe(resource: ResourceRef, subscriber: ProgressSubscriber): Promise<void> {
    if (naive) return naive.subscribe(resource, subscriber);
    const channel = channelName(resource);
    let ch = channels.get(channel);
    if (!ch) {
      const ready = valkey.subscribe(channel, "sharded");
      ch = { listeners: new Set(), ready };
      channels.set(channel, ch);
      const created = ch;
      // A failed SUBSCRIBE forgets the channel, so the next client tries again.
      ready.catch(() => channels.get(channel) === created && channels.delete(channel));
    }
    ch.listeners.add(subscriber);
    idle.delete(channel);
    try {
      await ch.ready;
    } catch (err) {
      ch.listeners.delete(subscriber);
      throw err;
    }
    gapHandlers.add(subscriber);
  }

  function unsubscribe(resource: ResourceRef, subscriber: ProgressSubscriber): void {
    if (naive?.unsubscribe(subscriber)) return;
    gapHandlers.delete(subscriber);
    const channel = channelName(resource);
    const ch = channels.get(channel);
    if (!ch?.listeners.delete(subscriber)) return;
    if (ch.listeners.size > 0) return;
    idle.add(channel);
    if (!idleTimer) {
      idleTimer = setTimeout(unsubscribeIdle, UNSUBSCRIBE_AFTER_MS);
      idleTimer.unref();
    }
  }

  function unsubscribeIdle(): void {
    idleTimer = null;
    const due = [...idle];
    idle.clear();
    for (const channel of due) channels.delete(channel);
    if (due.length === 0) return;
    valkey.unsubscribe(due).catch((err: unknown) => deps.logger.debug({ err, channels: due.length }, "unsubscribe failed"));
  }

  /** Channels subscribed on the shared connections and the listeners behind them (for tests). */
  function stats() {
    let clients = 0;
    for (const ch of channels.values()) clients += ch.listeners.size;
    return { channels: channels.size, clients, naiveConnections: naive?.connections() ?? 0 };
  }

  /** Stops live delivery and closes the subscriber connections the hub opened itself (on a cluster). */
  function close(): void {
    valkey.close();
  }

  const { readSince, latest } = createProgressReplay(deps.commands);
  return { subscribe, unsubscribe, subscribeOrderFeed, unsubscribeOrderFeed, readSince, latest, stats, close };
}
export type ProgressHub = ReturnType<typeof createProgressHub>;
