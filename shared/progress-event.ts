/**
 * The progress-event contract shared by every publisher (worker) and reader (web).
 *
 * `seq` is strictly increasing per resource and deterministic across replays: a workflow derives
 * it from its own (replayed) control flow, so a re-published event carries the same seq and is
 * recognised as a duplicate by the stream store and by every reader.
 */
import { z } from "zod";

export const resourceKinds = ["order", "content", "campaign"] as const;
export const resourceKindSchema = z.enum(resourceKinds);
export type ResourceKind = z.infer<typeof resourceKindSchema>;

export interface ResourceRef {
  kind: ResourceKind;
  id: string;
}

export const progressStatusSchema = z.enum(["queued", "running", "waiting", "succeeded", "failed", "cancelled"]);
export type ProgressStatus = z.infer<typeof progressStatusSchema>;

export const terminalStatuses: ReadonlySet<ProgressStatus> = new Set(["succeeded", "failed", "cancelled"]);

/** A small structured payload beside the message: counts, a text chunk, a per-item outcome. */
export const progressDataSchema = z.record(
  z.string().max(64),
  z.union([z.string().max(4000), z.number(), z.boolean(), z.null()]),
);
export type ProgressData = z.infer<typeof progressDataSchema>;

export const progressEventSchema = z.object({
  seq: z.number().int().positive(),
  /** `step` moves the bar; `text` carries streamed text in `data`; `terminal` is the last event of a resource. */
  kind: z.enum(["step", "text", "terminal"]),
  step: z.string().min(1).max(64),
  percent: z.number().min(0).max(100),
  status: progressStatusSchema,
  message: z.string().max(500),
  at: z.iso.datetime(),
  data: progressDataSchema.optional(),
});
export type ProgressEvent = z.infer<typeof progressEventSchema>;

/** An event before the publisher stamps it. */
export type ProgressDraft = Omit<ProgressEvent, "at">;

/** The durable state of a resource as of its last event (seq 0 = nothing happened yet). */
export const progressSnapshotSchema = z.object({
  seq: z.number().int().min(0),
  step: z.string(),
  percent: z.number().min(0).max(100),
  status: progressStatusSchema,
  message: z.string(),
  at: z.iso.datetime().nullable(),
  invocationId: z.string().nullable(),
  data: progressDataSchema.optional(),
});
export type ProgressSnapshot = z.infer<typeof progressSnapshotSchema>;

export const emptySnapshot: ProgressSnapshot = {
  seq: 0,
  step: "queued",
  percent: 0,
  status: "queued",
  message: "Waiting for a worker",
  at: null,
  invocationId: null,
};

export function isTerminal(e: { status: ProgressStatus }): boolean {
  return terminalStatuses.has(e.status);
}

/**
 * A resource's stream and channel share one hash tag, the resource's own (`{<id>}`): on a cluster
 * the progress script's keys and its shard channel live in one slot, and resources spread over
 * every shard. On a single server the braces are only part of the name.
 */
export function streamKey(r: ResourceRef): string {
  return `progress:${r.kind}:{${r.id}}:events`;
}

export function channelName(r: ResourceRef): string {
  return `progress:${r.kind}:{${r.id}}`;
}

/**
 * Every order event is also announced here, as `{ id, event }`: operators' live views hear all
 * orders through one subscription per web process. Not a resource channel (no second colon). It is
 * the one channel that is not sharded: it carries every shard's orders (docs/design.md).
 */
export const ORDER_FEED_CHANNEL = "progress:orders";

export const orderFeedMessageSchema = z.object({ id: z.string().min(1).max(64), event: progressEventSchema });
export type OrderFeedMessage = z.infer<typeof orderFeedMessageSchema>;

/** Parses a channel name back into its resource (null when it is not a progress channel). */
export function resourceFromChannel(channel: string): ResourceRef | null {
  const m = /^progress:([a-z]+):\{([^{}]+)\}$/.exec(channel);
  if (!m?.[1] || !m[2]) return null;
  const kind = resourceKindSchema.safeParse(m[1]);
  return kind.success ? { kind: kind.data, id: m[2] } : null;
}

/** Stream entry ids are `<seq>-0`, so the store itself refuses a second entry for one seq. */
export function streamIdForSeq(seq: number): string {
  return `${seq}-0`;
}

export function seqFromStreamId(id: string): number {
  return Number.parseInt(id.split("-")[0] ?? "", 10);
}
