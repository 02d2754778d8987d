/**
 * Bench-only (SSE_NAIVE_SUBSCRIBER): one subscriber connection per listener instead of the hub's
 * shared ones, so `npm run bench` can measure what sharing saves. Nothing here reports gaps.
 */
import type { Redis } from "ioredis";
import type { Logger } from "../../shared/logger.ts";
import { channelName, type ProgressEvent, type ResourceRef } from "../../shared/progress-event.ts";

interface Listener {
  onEvent(event: ProgressEvent): void;
}

export interface NaiveSubscriptionDeps {
  connect(): Redis;
  logger: Logger;
  /** The hub's own parsing and delivery, so a naive listener hears what a shared one would. */
  parse(channel: string, message: string): ProgressEvent | null;
  deliver(listener: Listener, event: ProgressEvent): void;
}

export function createNaiveSubscriptions(deps: NaiveSubscriptionDeps) {
  const open = new Map<Listener, Redis>();

  async function subscribe(resource: ResourceRef, listener: Listener): Promise<void> {
    const channel = channelName(resource);
    const conn = deps.connect();
    conn.on("error", (err) => deps.logger.debug({ err, channel }, "naive subscriber connection error"));
    conn.on("message", (ch: string, message: string) => {
      const event = ch === channel ? deps.parse(ch, message) : null;
      if (event) deps.deliver(listener, event);
    });
    try {
      await conn.subscribe(channel);
    } catch (err) {
      conn.disconnect();
      throw err;
    }
    open.set(listener, conn);
  }

  /** Closes `listener`'s connection; false when it has none here. */
  function unsubscribe(listener: Listener): boolean {
    const conn = open.get(listener);
    if (!conn) return false;
    open.delete(listener);
    conn.disconnect();
    return true;
  }

  return { subscribe, unsubscribe, connections: () => open.size };
}
