/**
 * Progress of any resource (order, content job, campaign) as an SSE response. A fresh client gets
 * the durable snapshot first; a reconnecting one (Last-Event-ID = seq) gets exactly the events it
 * missed from the Valkey stream. Live events follow, de-duplicated by seq; the stream ends with a
 * `done` event after the terminal event. Ownership must be checked before a stream is started.
 *
 * What a stream keeps while it is open is what it needs and no more: its response, its cursor
 * (`lastSeq`), the state the client was last shown, and its subscription, in one object whose
 * methods live on the prototype. Logging goes through a child logger made only when there is
 * something to log. At 10,000 open streams every closure and logger held per stream is
 * megabytes (docs/performance.md, SSE memory).
 */
import type { z } from "zod";
import type { Logger } from "../../shared/logger.ts";
import {
  isTerminal,
  type ProgressEvent,
  type ProgressSnapshot,
  type ResourceKind,
  type ResourceRef,
} from "../../shared/progress-event.ts";
import type { ProgressHub, ProgressSubscriber } from "./progress-hub.ts";
import type { SseStream } from "./sse-response.ts";
import type { SseStreams } from "./sse-streams.ts";

/** Live events held back while a replay is still being written; beyond this the client is not keeping up. */
const MAX_PENDING = 1_000;
const DEFAULT_RETRY_MS = 3_000;

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

class ProgressStream implements ProgressSubscriber, StreamViewer {
  private readonly kind: ProgressStreamKind;
  private readonly deps: ProgressStreamDeps;
  private readonly sse: SseStream;
  readonly id: string;
  readonly csrfToken: string;
  readonly readOnly: boolean;
  private readonly resumeFrom: number | null;
  private readonly baseLog: Logger;
  private readonly reqId: string | undefined;
  /** The latest state the client has seen: the base every next frame is rendered from. */
  private shown: ProgressSnapshot | null = null;
  private lastSeq: number;
  /** Live events that arrived while the replay was being written (allocated only then). */
  private pending: ProgressEvent[] | null = null;
  private replaying = true;
  private subscribed = false;
  private readonly untilSettled: boolean;

  constructor(s: ProgressStreamStart) {
    this.kind = s.kind;
    this.deps = s.deps;
    this.sse = s.sse;
    this.id = s.viewer.id;
    this.csrfToken = s.viewer.csrfToken;
    this.readOnly = s.viewer.readOnly === true;
    this.resumeFrom = s.resumeFrom;
    this.baseLog = s.log;
    this.reqId = s.reqId;
    this.lastSeq = s.resumeFrom ?? 0;
    this.untilSettled = s.untilSettled === true && s.kind.settled !== undefined;
  }

  /** Whether the stream ends after this state: its terminal event, or for a following stream, the settled state. */
  private ends(s: Pick<ProgressSnapshot, "status" | "step">): boolean {
    return this.untilSettled ? this.kind.settled!(s) : isTerminal(s);
  }

  private get resource(): ResourceRef {
    return { kind: this.kind.kind, id: this.id };
  }

  private get retryMs(): number {
    return this.deps.retryMs ?? DEFAULT_RETRY_MS;
  }

  private log(): Logger {
    const fields: Record<string, string> = { [this.kind.logKey]: this.id };
    if (this.reqId) fields.reqId = this.reqId;
    return this.baseLog.child(fields);
  }

  private send(id: number, frames: SseFrame[], retryMs?: number, paced = false): void {
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i] as SseFrame;
      this.sse.send(i === 0 && retryMs !== undefined ? { ...f, id, retryMs } : { ...f, id }, { paced });
    }
  }

  private finish(): void {
    this.sse.send({ event: "done", data: "done" });
    this.sse.end();
  }

  private deliver(e: ProgressEvent, paced = false): void {
    if (this.sse.closed || e.seq <= this.lastSeq) return;
    this.lastSeq = e.seq;
    // An event may name the invocation (an order's first does): the page's link to it appears live.
    const invocationId = typeof e.data?.invocationId === "string" ? e.data.invocationId : undefined;
    const shown: ProgressSnapshot = {
      ...(this.shown ?? { invocationId: null }),
      ...e,
      ...(invocationId ? { invocationId } : {}),
    };
    this.shown = shown;
    this.send(e.seq, this.kind.render(this, shown, e), undefined, paced);
    this.deps.sseStreams?.metrics?.delivered();
    if (this.ends(e)) this.finish();
  }

  onEvent(e: ProgressEvent): void {
    if (!this.replaying) return this.deliver(e);
    // Live events wait while the replay is paced to the client; a client that takes none is cut off.
    if ((this.pending ??= []).push(e) > MAX_PENDING) this.sse.abort();
  }

  onGap(): void {
    // Live delivery had a gap: the browser reconnects (Last-Event-ID) and the snapshot fills it.
    this.sse.endWithRetry(this.retryMs, "resync");
  }

  onClosed(): void {
    if (this.subscribed) this.deps.hub.unsubscribe(this.resource, this);
    this.subscribed = false;
  }

  async start(): Promise<void> {
    this.sse.onClose(() => this.onClosed());
    try {
      await this.deps.hub.subscribe(this.resource, this);
      this.subscribed = true;
      // The client may have left while we subscribed: its close handler ran before there was anything to undo.
      if (this.sse.closed) return this.onClosed();
    } catch (err) {
      this.log().warn({ err }, "live progress unavailable; sending the snapshot only");
    }

    // The snapshot tells a fresh client where things stand, and every client the invocation.
    let loaded: LoadedSnapshot;
    try {
      loaded = await this.kind.loadSnapshot(this.id, this.log());
    } catch (err) {
      // The response is already open (200), so no error page: the browser retries in a moment.
      this.log().warn({ err }, "progress snapshot unavailable; the browser will retry");
      return this.sse.endWithRetry(this.retryMs, "done");
    }
    const { snapshot } = loaded;
    this.shown = snapshot;
    if (this.resumeFrom === null) {
      this.lastSeq = snapshot.seq;
      this.send(snapshot.seq, this.kind.render(this, snapshot, null, loaded.extra));
      if (this.ends(snapshot)) return this.finish();
    }
    if (!this.subscribed) {
      // Without Valkey the browser polls by reconnecting: it gets a fresh snapshot each time.
      this.send(this.lastSeq, this.kind.render(this, snapshot, null, loaded.extra), this.retryMs);
      return this.sse.end();
    }
    // The replay goes on after this returns: on the Koa path only then is the response the
    // client's to read, and a paced replay needs the client to be reading.
    void this.catchUp(loaded).catch((err: unknown) => {
      this.log().warn({ err }, "progress stream failed");
      this.sse.end();
    });
  }

  /** The replay is written: the live events that waited for it go out, and the next ones as they come. */
  private goLive(): void {
    this.replaying = false;
    const pending = this.pending ?? [];
    this.pending = null;
    for (const e of pending) this.deliver(e);
    // Nothing may come for a while: a stream that has written nothing yet shows the browser it is open.
    this.sse.flushHeaders();
  }

  private async catchUp({ snapshot, extra, complete }: LoadedSnapshot): Promise<void> {
    const { hub } = this.deps;
    if (this.resumeFrom === null && complete === true) return this.goLive();
    try {
      const missed = await hub.readSince(this.resource, this.lastSeq);
      if (this.resumeFrom !== null) this.deps.sseStreams?.metrics?.replayed();
      // Paced: a long replay waits for the client instead of queueing all of it at once.
      for (const e of missed) {
        await this.sse.ready();
        this.deliver(e, true);
      }
      // A client resuming after the terminal event has nothing left to wait for.
      const newest = this.sse.closed ? null : await hub.latest(this.resource);
      if (newest && this.ends(newest) && newest.seq <= this.lastSeq) return this.finish();
    } catch (err) {
      this.log().warn({ err }, "could not replay progress from the stream");
    }
    this.goLive();
    // Events the worker could not publish (Valkey was away) are not in the stream; the snapshot has their sum.
    if (!this.sse.closed && !isTerminal(snapshot) && snapshot.seq > this.lastSeq) {
      this.lastSeq = snapshot.seq;
      this.send(snapshot.seq, this.kind.render(this, snapshot, null, extra));
    }
    if (!this.sse.closed && isTerminal(snapshot)) {
      // The terminal event may have been dropped from the stream; the snapshot still has it.
      if (this.lastSeq < snapshot.seq)
        this.deliver({ ...snapshot, kind: "terminal", at: snapshot.at ?? new Date().toISOString() });
      else if (this.ends(snapshot)) this.finish();
    }
  }
}

/**
 * Runs one progress stream on an open SSE response. Resolves once the snapshot is sent; the replay
 * of missed events and the live events go on until the stream ends.
 */
export function startProgressStream(s: ProgressStreamStart): Promise<void> {
  return new ProgressStream(s).start();
}
