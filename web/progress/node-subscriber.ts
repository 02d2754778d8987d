/**
 * Subscriptions on a single Valkey node: every channel on the one subscriber connection the web
 * opened for them (SUBSCRIBE whatever the mode: the worker PUBLISHes to a single node). When the
 * connection comes back, ioredis subscribes its channels again, but whatever was published
 * meanwhile went by unseen: every channel subscribed then is reported as a gap.
 */
import type { Redis } from "ioredis";
import type { ValkeySubscriber, ValkeySubscriberEvents } from "./valkey-subscriber.ts";

export function createNodeSubscriber(redis: Redis, events: ValkeySubscriberEvents): ValkeySubscriber {
  const channels = new Set<string>();
  let connectedBefore = false;

  const onReady = () => {
    if (connectedBefore) events.onGap([...channels], "Valkey subscriber reconnected");
    connectedBefore = true;
  };
  const onMessage = (channel: string, message: string) => events.onMessage(channel, message);
  redis.on("ready", onReady);
  redis.on("message", onMessage);

  return {
    async subscribe(channel) {
      channels.add(channel);
      try {
        await redis.subscribe(channel);
      } catch (err) {
        channels.delete(channel);
        throw err;
      }
    },
    async unsubscribe(gone) {
      for (const channel of gone) channels.delete(channel);
      // One UNSUBSCRIBE for the whole batch.
      await redis.unsubscribe(...gone);
    },
    // The connection is the caller's to quit; only the hub's listeners leave it.
    close() {
      redis.off("ready", onReady);
      redis.off("message", onMessage);
      channels.clear();
    },
  };
}
