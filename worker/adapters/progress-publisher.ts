/**
 * Publishes progress events: appends to the resource's Valkey stream (bounded, expiring) and
 * announces on pub/sub, atomically in one script. The stream id is the event's seq, so a replayed
 * publish is refused by the store as a duplicate and not announced twice.
 *
 * Order events are also announced on one shared channel (`progress:orders`), in the same script
 * call, so an operator's live view hears every order from one subscription per web process.
 *
 * Best-effort by contract: a bounded number of quick attempts, then it gives up and reports it.
 * It never throws, so Valkey being down never fails a workflow.
 */
import { setTimeout as sleep } from "node:timers/promises";
import {
  channelName,
  ORDER_FEED_CHANNEL,
  progressEventSchema,
  seqFromStreamId,
  streamIdForSeq,
  streamKey,
  type ProgressDraft,
  type ProgressEvent,
  type ResourceRef,
} from "../../shared/progress-event.ts";
import type { Logger } from "../../shared/logger.ts";
import { isCluster, type ValkeyClient } from "../../shared/valkey-client.ts";
import { defineScript } from "../../shared/valkey-script.ts";

// KEYS: the stream and the resource's channel (one hash tag: one cluster slot). ARGV: max length,
// ttl, the resource id as a JSON string, the order feed's channel ('' for other kinds), then
// (stream id, event) pairs. One reply per event: 1 appended and announced, 0 refused as a
// duplicate of a stored seq.
//
// On a cluster the resource's channel is a shard channel (SPUBLISH: the message stays in the
// shard that stores the stream). The order feed is not a key of the call: a plain PUBLISH, which a
// cluster carries to every node, since every operator's page wants every shard's orders. It costs
// one PUBLISH more per order event, in this same call (no round trip), and nothing per order in
// the web: every web process subscribes to the feed once. A duplicate is announced on neither.
const appendAndAnnounce = (publish: "PUBLISH" | "SPUBLISH") => `
local out = {}
for i = 5, #ARGV, 2 do
  local ok = redis.pcall('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], ARGV[i], 'event', ARGV[i + 1])
  if type(ok) == 'table' and ok.err then
    if not string.find(ok.err, 'equal or smaller') then return redis.error_reply(ok.err) end
    out[#out + 1] = 0
  else
    redis.call('${publish}', KEYS[2], ARGV[i + 1])
    if ARGV[4] ~= '' then redis.call('PUBLISH', ARGV[4], '{"id":' .. ARGV[3] .. ',"event":' .. ARGV[i + 1] .. '}') end
    out[#out + 1] = 1
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return out
`;

export interface PublishOutcome {
  event: ProgressEvent;
  /** "appended": stored and announced; "duplicate": this seq was already stored; "dropped": Valkey unreachable. */
  outcome: "appended" | "duplicate" | "dropped";
}

export interface ProgressPublisherOptions {
  maxLen: number;
  ttlSeconds: number;
  attempts?: number;
  backoffMs?: number;
}

export interface ProgressPublisher {
  publish(resource: ResourceRef, draft: ProgressDraft): Promise<PublishOutcome>;
  /** Several events of one resource, in order, in one round trip (a step that reports more than one). */
  publishAll?(resource: ResourceRef, drafts: ProgressDraft[]): Promise<PublishOutcome[]>;
  /**
   * Where a resource's stream stands: its newest seq and that event's step (seq 0: no stream), for
   * a handler that adds an event after the resource's own run has ended. Throws when Valkey cannot
   * be read, after the same bounded attempts as a publish.
   */
  latest?(resource: ResourceRef): Promise<{ seq: number; step: string | null }>;
}

/** Resources whose newest events were dropped, kept for a second delivery; beyond this the oldest go. */
const MAX_REDELIVERIES = 10_000;
const REDELIVERY_INTERVAL_MS = 5_000;

export function createProgressPublisher(redis: ValkeyClient, logger: Logger, opts: ProgressPublisherOptions) {
  const attempts = opts.attempts ?? 3;
  const backoffMs = opts.backoffMs ?? 100;
  // By its hash once loaded (a few bytes on the wire per publish).
  const append = isCluster(redis)
    ? defineScript(redis, "quaysideProgressAppendSharded", appendAndAnnounce("SPUBLISH"))
    : defineScript(redis, "quaysideProgressAppend", appendAndAnnounce("PUBLISH"));

  // A dropped event is not published again by its step (the step's result is journalled), and an
  // open page only learns of events as they are announced: a dropped terminal event would leave
  // its page waiting. So the newest dropped events of each resource are delivered again once
  // Valkey answers. Each event carries the whole state, and the stream refuses a seq at or below
  // its newest, so a late delivery of an event that newer ones overtook changes nothing.
  const redeliver = new Map<string, { resource: ResourceRef; events: ProgressEvent[] }>();
  let timer: NodeJS.Timeout | null = null;

  // The script's reply: per event, 1 when appended, 0 when its seq was there already.
  const send = async (resource: ResourceRef, events: ProgressEvent[]): Promise<unknown[]> => {
    const keys = [streamKey(resource), channelName(resource)];
    const feed = resource.kind === "order" ? ORDER_FEED_CHANNEL : "";
    const args = events.flatMap((e) => [streamIdForSeq(e.seq), JSON.stringify(e)]);
    const r = await append(keys, [opts.maxLen, opts.ttlSeconds, JSON.stringify(resource.id), feed, ...args]);
    if (!Array.isArray(r)) throw new Error("unexpected reply from the progress script");
    const replies: unknown[] = r;
    return replies;
  };

  async function redeliverDropped(): Promise<void> {
    for (const [key, { resource, events }] of [...redeliver]) {
      try {
        await send(resource, events);
        if (redeliver.get(key)?.events === events) redeliver.delete(key);
        logger.info({ resource, seq: events.map((e) => e.seq) }, "dropped progress events delivered again");
      } catch {
        return; // still unreachable: the next reconnect or tick tries again
      }
    }
    if (redeliver.size === 0 && timer) {
      clearInterval(timer);
      timer = null;
    }
  }
  redis.on("ready", () => void redeliverDropped());

  const keep = (resource: ResourceRef, events: ProgressEvent[]) => {
    const key = `${resource.kind}:${resource.id}`;
    redeliver.delete(key); // re-inserted last: the map's order is the age of its entries
    redeliver.set(key, { resource, events });
    if (redeliver.size > MAX_REDELIVERIES) redeliver.delete(redeliver.keys().next().value as string);
    if (!timer) {
      timer = setInterval(() => void redeliverDropped(), REDELIVERY_INTERVAL_MS);
      timer.unref();
    }
  };

  async function publishAll(resource: ResourceRef, drafts: ProgressDraft[]): Promise<PublishOutcome[]> {
    const at = new Date().toISOString();
    const events: ProgressEvent[] = drafts.map((d) => ({ ...d, at }));
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const r = await send(resource, events);
        // Newer events got through: anything older still waiting for a second delivery is moot.
        redeliver.delete(`${resource.kind}:${resource.id}`);
        return events.map((event, i) => ({ event, outcome: r[i] === 1 ? "appended" : "duplicate" }));
      } catch (err) {
        if (attempt === attempts) {
          logger.warn({ err, resource, seq: events.map((e) => e.seq) }, "progress event dropped: Valkey unreachable");
          keep(resource, events);
          break;
        }
        await sleep(backoffMs * attempt);
      }
    }
    return events.map((event) => ({ event, outcome: "dropped" }));
  }

  async function publish(resource: ResourceRef, draft: ProgressDraft): Promise<PublishOutcome> {
    const [out] = await publishAll(resource, [draft]);
    return out!;
  }

  async function latest(resource: ResourceRef): Promise<{ seq: number; step: string | null }> {
    for (let attempt = 1; ; attempt++) {
      try {
        const [entry] = await redis.xrevrange(streamKey(resource), "+", "-", "COUNT", 1);
        if (!entry) return { seq: 0, step: null };
        const [id, fields] = entry;
        const raw = fields[fields.indexOf("event") + 1];
        const parsed = raw ? progressEventSchema.safeParse(JSON.parse(raw)) : null;
        return { seq: seqFromStreamId(id), step: parsed?.success ? parsed.data.step : null };
      } catch (err) {
        if (attempt >= attempts) throw err;
        await sleep(backoffMs * attempt);
      }
    }
  }

  return { publish, publishAll, latest } satisfies ProgressPublisher;
}
