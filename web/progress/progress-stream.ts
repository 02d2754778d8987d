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
import type { Logger } from "../../shared/logger.ts";
import {
  emptySnapshot,
  isTerminal,
  type ProgressEvent,
  type ProgressSnapshot,
  type ResourceRef,
} from "../../shared/progress-event.ts";
import type { ProgressSubscriber } from "./progress-hub.ts";
import type { QuietCheckedKind, QuietWatched } from "./quiet-check.ts";
import type { SseStream } from "./sse-response.ts";
import type {
  LoadedSnapshot,
  ProgressStreamDeps,
  ProgressStreamKind,
  ProgressStreamStart,
  SseFrame,
  StreamViewer,
} from "./stream-kind.ts";

/** Live events held back while a replay is still being written; beyond this the client is not keeping up. */
const MAX_PENDING = 1_000;
const DEFAULT_RETRY_MS = 3_000;

class ProgressStream implements ProgressSubscriber, StreamViewer, QuietWatched {
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
  quietDueAt = 0;
  /** Whether the quiet check watches this stream (while it is live and its resource not finished). */
  private quietWatched = false;

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

  get quietKind(): QuietCheckedKind {
    return this.kind.quiet!;
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
    this.heard(shown);
    if (this.ends(e)) this.finish();
  }

  /** The quiet check's bookkeeping: a stream that heard something is not due; a finished one is not watched. */
  private heard(shown: ProgressSnapshot): void {
    if (!this.quietWatched) return;
    if (!isTerminal(shown)) return this.deps.quiet!.heard(this);
    this.deps.quiet!.forget(this);
    this.quietWatched = false;
  }

  /**
   * Shows a stored state that is ahead of the stream (its events were lost). It has no seq of its
   * own, so its frames carry no id: the browser's Last-Event-ID stays the last event's, and a
   * reconnect still replays whatever the stream gets later.
   */
  private showStored(stored: ProgressSnapshot): void {
    const shown: ProgressSnapshot = {
      ...stored,
      seq: this.lastSeq,
      invocationId: stored.invocationId ?? this.shown?.invocationId ?? null,
    };
    this.shown = shown;
    const event: ProgressEvent | null = isTerminal(shown)
      ? { ...shown, kind: "terminal", at: shown.at ?? new Date().toISOString() }
      : null;
    for (const f of this.kind.render(this, shown, event)) this.sse.send(f);
    this.heard(shown);
    if (this.ends(shown)) this.finish();
  }

  onStoredState(stored: ProgressSnapshot): void {
    void this.catchUpWithStored(stored).catch((err: unknown) => this.log().warn({ err }, "quiet stream could not catch up"));
  }

  /** The quiet check found the stored state ahead of the page: the stream's missed events first, then the stored state. */
  private async catchUpWithStored(stored: ProgressSnapshot): Promise<void> {
    const kind = this.kind;
    if (!kind.ahead || this.sse.closed || this.replaying || !this.shown || !kind.ahead(stored, this.shown)) return;
    try {
      // When Valkey stored them, the stream has the steps in between.
      for (const e of await this.deps.hub.readSince(this.resource, this.lastSeq)) this.deliver(e);
    } catch (err) {
      this.log().debug({ err }, "quiet stream: the progress stream could not be read");
    }
    if (this.sse.closed || !kind.ahead(stored, this.shown)) return;
    this.log().info({ step: stored.step, lastSeq: this.lastSeq }, "a quiet stream was behind its stored state: sent it");
    this.deps.sseStreams?.metrics?.quietRecovered();
    this.showStored(stored);
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
    if (this.quietWatched) this.deps.quiet!.forget(this);
    this.quietWatched = false;
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
    if (this.deps.quiet && this.kind.quiet && !this.sse.closed && this.shown && !isTerminal(this.shown)) {
      this.deps.quiet.watch(this);
      this.quietWatched = true;
    }
  }

  private async catchUp({ snapshot, extra, complete }: LoadedSnapshot): Promise<void> {
    const { hub } = this.deps;
    if (this.resumeFrom === null && complete === true) return this.goLive();
    /** The stream's newest event, once read: what the stream says the client has now seen. */
    let newest: ProgressEvent | null | undefined;
    try {
      const missed = await hub.readSince(this.resource, this.lastSeq);
      if (this.resumeFrom !== null) this.deps.sseStreams?.metrics?.replayed();
      // Paced: a long replay waits for the client instead of queueing all of it at once.
      for (const e of missed) {
        await this.sse.ready();
        this.deliver(e, true);
      }
      // A client resuming after the terminal event has nothing left to wait for.
      newest = this.sse.closed ? null : await hub.latest(this.resource);
      if (newest && this.ends(newest) && newest.seq <= this.lastSeq) return this.finish();
    } catch (err) {
      this.log().warn({ err }, "could not replay progress from the stream");
    }
    this.goLive();
    if (this.sse.closed) return;
    // Events the worker could not publish (Valkey was away) are not in the stream; the snapshot has their sum.
    if (snapshot.seq > this.lastSeq) {
      if (!isTerminal(snapshot)) {
        this.lastSeq = snapshot.seq;
        this.send(snapshot.seq, this.kind.render(this, snapshot, null, extra));
      } else this.deliver({ ...snapshot, kind: "terminal", at: snapshot.at ?? new Date().toISOString() });
      return;
    }
    // A stored state (the resource's row) past the stream's newest event: what the client was
    // shown ends where the stream ends, so the stored state is sent, terminal or not.
    if (newest !== undefined && this.kind.ahead?.(snapshot, newest ?? emptySnapshot)) return this.showStored(snapshot);
    // The terminal event may have been dropped from the stream; the snapshot still has it.
    if (isTerminal(snapshot) && this.ends(snapshot)) this.finish();
  }
}

/**
 * Runs one progress stream on an open SSE response. Resolves once the snapshot is sent; the replay
 * of missed events and the live events go on until the stream ends.
 */
export function startProgressStream(s: ProgressStreamStart): Promise<void> {
  return new ProgressStream(s).start();
}
