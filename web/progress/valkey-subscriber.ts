/**
 * What the progress hub needs from Valkey pub/sub, in either of Valkey's shapes: channels
 * subscribed and unsubscribed, their messages, and word when delivery on some of them may have
 * had a gap. A single node (node-subscriber.ts) and a cluster (shard-subscribers.ts) each keep
 * their own connections and their own way back after a reconnect; the hub picks one at start and
 * never asks which it has.
 */
import type { Logger } from "../../shared/logger.ts";

/**
 * A resource's channel is `sharded` (on a cluster it lives in its slot's shard, SSUBSCRIBE);
 * the order feed is `plain` (SUBSCRIBE, every node carries it). A single node has no shards.
 */
export type ChannelMode = "sharded" | "plain";

export interface ValkeySubscriberEvents {
  logger: Logger;
  onMessage(channel: string, message: string): void;
  /** Live delivery on these channels may have missed messages (a reconnect, or a move to another primary). */
  onGap(channels: string[], why: string): void;
}

export interface ValkeySubscriber {
  /** Resolves once Valkey has acknowledged the subscription. */
  subscribe(channel: string, mode: ChannelMode): Promise<void>;
  /** Unsubscribes channels nobody listens to any more. */
  unsubscribe(channels: string[]): Promise<void>;
  /** Stops delivering; closes the connections the subscriber opened itself. */
  close(): void;
}
