/**
 * Progress for the web's SSE streams. One Valkey subscriber connection per process, subscribed
 * per resource while at least one client listens, fanning each event out in-process; replays come
 * from the resource's stream (entry id = seq), so a reconnecting client misses nothing.
 */
import type { Redis } from "ioredis";
import type { Logger } from "../../shared/logger.ts";
import {
  channelName,
  progressEventSchema,
  resourceFromChannel,
  streamIdForSeq,
  streamKey,
  type ProgressEvent,
  type ResourceRef,
} from "../../shared/progress-event.ts";

export type ProgressListener = (event: ProgressEvent) => void;

export function createProgressHub(deps: { subscriber: Redis; commands: Redis; logger: Logger }) {
  const listeners = new Map<string, Set<ProgressListener>>();

  deps.subscriber.on("message", (channel: string, message: string) => {
    const set = listeners.get(channel);
    if (!set || !resourceFromChannel(channel)) return;
    let parsed: ProgressEvent;
    try {
      parsed = progressEventSchema.parse(JSON.parse(message));
    } catch (err) {
      deps.logger.warn({ err, channel }, "ignored a malformed progress message");
      return;
    }
    for (const l of set) l(parsed);
  });

  /** Starts delivering live events for `resource` to `listener`; resolves once subscribed. */
  async function subscribe(resource: ResourceRef, listener: ProgressListener): Promise<() => void> {
    const channel = channelName(resource);
    let set = listeners.get(channel);
    if (!set) {
      set = new Set();
      listeners.set(channel, set);
    }
    set.add(listener);
    try {
      if (set.size === 1) await deps.subscriber.subscribe(channel);
    } catch (err) {
      remove(channel, listener);
      throw err;
    }
    return () => remove(channel, listener);
  }

  function remove(channel: string, listener: ProgressListener): void {
    const set = listeners.get(channel);
    if (!set) return;
    set.delete(listener);
    if (set.size === 0) {
      listeners.delete(channel);
      deps.subscriber.unsubscribe(channel).catch((err: unknown) => deps.logger.debug({ err, channel }, "unsubscribe failed"));
    }
  }

  function parseEntries(entries: Array<[string, string[]]>): ProgressEvent[] {
    const events: ProgressEvent[] = [];
    for (const [, fields] of entries) {
      const idx = fields.indexOf("event");
      const raw = idx >= 0 ? fields[idx + 1] : undefined;
      try {
        const parsed = raw ? progressEventSchema.safeParse(JSON.parse(raw)) : undefined;
        if (parsed?.success) events.push(parsed.data);
      } catch {
        // not JSON: skipped like any malformed entry
      }
    }
    return events;
  }

  /** Events stored after `afterSeq`, oldest first. */
  async function readSince(resource: ResourceRef, afterSeq: number): Promise<ProgressEvent[]> {
    return parseEntries(await deps.commands.xrange(streamKey(resource), `(${streamIdForSeq(Math.max(afterSeq, 0))}`, "+"));
  }

  /** The newest stored event, if any. */
  async function latest(resource: ResourceRef): Promise<ProgressEvent | null> {
    return parseEntries(await deps.commands.xrevrange(streamKey(resource), "+", "-", "COUNT", 1))[0] ?? null;
  }

  function stats() {
    let clients = 0;
    for (const s of listeners.values()) clients += s.size;
    return { channels: listeners.size, clients };
  }

  return { subscribe, readSince, latest, stats };
}
export type ProgressHub = ReturnType<typeof createProgressHub>;
