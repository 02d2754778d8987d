/**
 * Publishes progress events: appends to the resource's Valkey stream (bounded, expiring) and
 * announces on pub/sub, atomically in one script. The stream id is the event's seq, so a replayed
 * publish is refused by the store as a duplicate and not announced twice.
 *
 * Best-effort by contract: a bounded number of quick attempts, then it gives up and reports it.
 * It never throws, so Valkey being down never fails a workflow.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import {
  channelName,
  streamIdForSeq,
  streamKey,
  type ProgressDraft,
  type ProgressEvent,
  type ResourceRef,
} from "../../shared/progress-event.ts";
import type { Logger } from "../../shared/logger.ts";

const APPEND_AND_ANNOUNCE = `
local ok = redis.pcall('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], ARGV[1], 'event', ARGV[2])
if type(ok) == 'table' and ok.err then
  if string.find(ok.err, 'equal or smaller') then return 0 end
  return redis.error_reply(ok.err)
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('PUBLISH', KEYS[2], ARGV[2])
return 1
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

export function createProgressPublisher(redis: Redis, logger: Logger, opts: ProgressPublisherOptions) {
  const attempts = opts.attempts ?? 3;
  const backoffMs = opts.backoffMs ?? 100;

  async function publish(resource: ResourceRef, draft: ProgressDraft): Promise<PublishOutcome> {
    const event: ProgressEvent = { ...draft, at: new Date().toISOString() };
    const payload = JSON.stringify(event);
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const r = await redis.eval(
          APPEND_AND_ANNOUNCE,
          2,
          streamKey(resource),
          channelName(resource),
          streamIdForSeq(event.seq),
          payload,
          String(opts.maxLen),
          String(opts.ttlSeconds),
        );
        return { event, outcome: r === 1 ? "appended" : "duplicate" };
      } catch (err) {
        if (attempt === attempts) {
          logger.warn({ err, resource, seq: event.seq }, "progress event dropped: Valkey unreachable");
          break;
        }
        await sleep(backoffMs * attempt);
      }
    }
    return { event, outcome: "dropped" };
  }

  return { publish };
}

export type ProgressPublisher = ReturnType<typeof createProgressPublisher>;
