/**
 * What a progress stream is made of, apart from the stream itself (progress-stream.ts): one kind
 * per resource (how its snapshot loads and its frames render), what every stream of a process
 * shares, and how a request names where to resume.
 */
import type { z } from "zod";
import type { Logger } from "../../shared/logger.ts";
import type { ProgressEvent, ProgressSnapshot, ResourceKind } from "../../shared/progress-event.ts";
import type { ProgressHub } from "./progress-hub.ts";
import type { QuietCheck, QuietCheckedKind } from "./quiet-check.ts";
import type { SseStream } from "./sse-response.ts";
import type { SseStreams } from "./sse-streams.ts";

export interface SseFrame {
  event: string;
  data: string;
}

/** What the frames of one stream are rendered for: the resource's id and the viewer's CSRF token (for its forms). */
export interface StreamViewer {
  id: string;
  csrfToken: string;
  /** An operator reading someone else's resource: frames without the owner's controls. */
  readOnly?: boolean;
}

/** A snapshot to start from, and what only the snapshot's own frames need besides it (a campaign's rows). */
export interface LoadedSnapshot {
  snapshot: ProgressSnapshot;
  extra?: unknown;
  /**
   * True when the snapshot was built from the resource's stream, read after the stream subscribed:
   * everything before it is in the snapshot and everything after arrives live, so a fresh client
   * has nothing to replay (two Valkey round trips fewer per new stream).
   */
  complete?: boolean;
}

/** One kind of progress stream (`GET /orders/:id/events`, …): shared by every stream of that kind. */
export interface ProgressStreamKind {
  kind: ResourceKind;
  /** The route template, for logs, metrics and traces. */
  route: string;
  /** Parses the route's `:id`. */
  idSchema: z.ZodType<string>;
  /** The 404 message for anyone without access. */
  notFound: string;
  /** The log field that names the resource: `orderId`, `jobId`, `campaignId`. */
  logKey: string;
  loadSnapshot(id: string, log: Logger): Promise<LoadedSnapshot>;
  /**
   * For a resource that may change after its terminal event (an order refunded after fulfilment):
   * whether nothing more can happen. A stream asked to follow (`?until=settled`) ends only then.
   */
  settled?(s: Pick<ProgressSnapshot, "status" | "step">): boolean;
  /**
   * The frames for one state change: `shown` is the state after `event`; `event` is null for the
   * snapshot itself, and only then is `extra` (what `loadSnapshot` returned with it) given.
   */
  render(viewer: StreamViewer, shown: ProgressSnapshot, event: ProgressEvent | null, extra?: unknown): SseFrame[];
  /**
   * Whether a stored state (the resource's row, as its snapshot reads it) is ahead of what was
   * shown: events were lost on the way. A resuming client whose snapshot is such a state past its
   * stream is sent it, and the quiet check sends it to a stream that heard nothing.
   */
  ahead?(stored: ProgressSnapshot, shown: Pick<ProgressSnapshot, "percent" | "status" | "step" | "data">): boolean;
  /**
   * For a kind whose stored state can be read for many at once (an order's row): a stream that
   * hears nothing a while reads it, and catches up when it is `ahead` of what the page shows
   * (quiet-check.ts).
   */
  quiet?: QuietCheckedKind;
}

/** What every stream of a process shares. */
export interface ProgressStreamDeps {
  hub: ProgressHub;
  /** The process's open streams: limits (429), keep-alive, maximum duration, buffer limit, shutdown. */
  sseStreams?: SseStreams | undefined;
  /** Keep-alive interval when there is no `sseStreams` tracker (the tracker has its own). */
  keepAliveMs: number;
  /** How long the browser waits before reconnecting when live delivery is unavailable. */
  retryMs?: number;
  /** The process's quiet check: streams that hear nothing read the stored state (none: no check). */
  quiet?: QuietCheck | undefined;
}

export interface ProgressStreamStart {
  kind: ProgressStreamKind;
  deps: ProgressStreamDeps;
  sse: SseStream;
  viewer: StreamViewer;
  /** Where to resume (Last-Event-ID), or null for a fresh client. */
  resumeFrom: number | null;
  /** The request's logger: a child naming the resource (and `reqId`) is made from it when there is something to log. */
  log: Logger;
  /** The request id, when `log` does not carry it already. */
  reqId?: string;
  /** Keep the stream open past the terminal event until the kind says the resource is settled. */
  untilSettled?: boolean;
}

/**
 * Where to resume from a Last-Event-ID header or, failing that, `?after=` (the last seq the page
 * already shows): a number, null for a fresh client, or undefined when it is not a sequence number (400).
 */
export function parseResumePoint(header: string | undefined, after: unknown): number | null | undefined {
  const fromHeader = (header ?? "").trim();
  const raw = fromHeader !== "" ? fromHeader : typeof after === "string" ? after.trim() : "";
  if (raw === "") return null;
  return /^\d{1,9}$/.test(raw) ? Number(raw) : undefined;
}

/** Whether a stream's query asks it to follow the resource until it is settled (`until=settled`). */
export function followsUntilSettled(until: unknown): boolean {
  return until === "settled";
}

export const BAD_RESUME_POINT = "Last-Event-ID must be a progress sequence number.";
