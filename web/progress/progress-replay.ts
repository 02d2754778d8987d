/**
 * A resource's stored progress events, read back from its Valkey stream (entry id = seq): what a
 * reconnecting client missed, and the newest one (has the client already seen the end?). Entries
 * that do not parse are skipped, like a malformed live message.
 */
import type { ValkeyClient } from "../../shared/valkey-client.ts";
import {
  progressEventSchema,
  streamIdForSeq,
  streamKey,
  type ProgressEvent,
  type ResourceRef,
} from "../../shared/progress-event.ts";

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

export function createProgressReplay(commands: ValkeyClient) {
  /** Events stored after `afterSeq`, oldest first. */
  async function readSince(resource: ResourceRef, afterSeq: number): Promise<ProgressEvent[]> {
    return parseEntries(await commands.xrange(streamKey(resource), `(${streamIdForSeq(Math.max(afterSeq, 0))}`, "+"));
  }

  /** The newest stored event, if any. */
  async function latest(resource: ResourceRef): Promise<ProgressEvent | null> {
    return parseEntries(await commands.xrevrange(streamKey(resource), "+", "-", "COUNT", 1))[0] ?? null;
  }

  return { readSince, latest };
}
