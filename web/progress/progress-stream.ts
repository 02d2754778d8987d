/**
 * Progress of any resource (order, content job, campaign) as an SSE response. A fresh client gets
 * the durable snapshot first; a reconnecting one (Last-Event-ID = seq) gets exactly the events it
 * missed from the Valkey stream. Live events follow, de-duplicated by seq; the stream ends with a
 * `done` event after the terminal event. Ownership must be checked before calling this.
 */
import type { Context } from "koa";
import type { Logger } from "../../shared/logger.ts";
import { isTerminal, type ProgressEvent, type ProgressSnapshot, type ResourceRef } from "../../shared/progress-event.ts";
import type { ProgressHub } from "./progress-hub.ts";
import { openSse } from "./sse-response.ts";
import type { SseStreams } from "./sse-streams.ts";

/** Live events held back while a replay is still being written; beyond this the client is not keeping up. */
const MAX_PENDING = 1_000;

export interface SseFrame {
  event: string;
  data: string;
}

export interface ProgressStreamOptions {
  resource: ResourceRef;
  hub: ProgressHub;
  log: Logger;
  /** Keep-alive interval when no `streams` tracker is given (the tracker has its own). */
  keepAliveMs: number;
  /** The process's open streams: limits (429), keep-alive, maximum duration, buffer limit, shutdown. */
  streams?: SseStreams | undefined;
  /** How long the browser waits before reconnecting when live delivery is unavailable. */
  retryMs?: number;
  loadSnapshot(): Promise<ProgressSnapshot>;
  /** The frames for one state change: `shown` is the state after `event` (null for the snapshot itself). */
  render(shown: ProgressSnapshot, event: ProgressEvent | null): SseFrame[];
}

/**
 * Where to resume: the Last-Event-ID header a reconnecting browser sends, else `?after=` (the last
 * seq the page already shows). null = a fresh client; 400 when it is not a sequence number.
 */
export function lastEventId(ctx: Context): number | null {
  const header = ctx.get("last-event-id").trim();
  const raw = header !== "" ? header : typeof ctx.query.after === "string" ? ctx.query.after.trim() : "";
  if (raw === "") return null;
  if (!/^\d{1,9}$/.test(raw)) ctx.throw(400, "Last-Event-ID must be a progress sequence number.");
  return Number(raw);
}

export async function streamProgress(ctx: Context, opts: ProgressStreamOptions): Promise<void> {
  const resumeFrom = lastEventId(ctx);
  const sse = opts.streams ? opts.streams.open(ctx) : openSse(ctx, { keepAliveMs: opts.keepAliveMs });
  const metrics = opts.streams?.metrics;
  // The latest state the client has seen: the base every next frame is rendered from.
  let shown: ProgressSnapshot | null = null;
  let lastSeq = resumeFrom ?? 0;
  const pending: ProgressEvent[] = [];
  let replaying = true;

  const send = (id: number, frames: SseFrame[], retryMs?: number, paced = false) => {
    frames.forEach((f, i) => sse.send({ ...f, id, ...(i === 0 && retryMs !== undefined ? { retryMs } : {}) }, { paced }));
  };
  const finish = () => {
    sse.send({ event: "done", data: "done" });
    sse.end();
  };
  const deliver = (e: ProgressEvent, paced = false) => {
    if (sse.closed || e.seq <= lastSeq) return;
    lastSeq = e.seq;
    // An event may name the invocation (an order's first does): the page's link to it appears live.
    const invocationId = typeof e.data?.invocationId === "string" ? e.data.invocationId : undefined;
    shown = { ...(shown ?? { invocationId: null }), ...e, ...(invocationId ? { invocationId } : {}) };
    send(e.seq, opts.render(shown, e), undefined, paced);
    metrics?.delivered();
    if (isTerminal(e)) finish();
  };

  let unsubscribe: (() => void) | null = null;
  sse.onClose(() => unsubscribe?.());
  try {
    unsubscribe = await opts.hub.subscribe(
      opts.resource,
      (e) => {
        if (!replaying) return deliver(e);
        // Live events wait while the replay is paced to the client; a client that takes none is cut off.
        if (pending.push(e) > MAX_PENDING) sse.abort();
      },
      // Live delivery had a gap: the browser reconnects (Last-Event-ID) and the snapshot fills it.
      () => sse.endWithRetry(opts.retryMs ?? 3_000, "resync"),
    );
    // The client may have left while we subscribed: its close handler ran before there was anything to undo.
    if (sse.closed) return unsubscribe();
  } catch (err) {
    opts.log.warn({ err }, "live progress unavailable; sending the snapshot only");
  }

  // The snapshot tells a fresh client where things stand, and every client the invocation.
  let snapshot: ProgressSnapshot;
  try {
    snapshot = await opts.loadSnapshot();
  } catch (err) {
    // The response is already open (200), so no error page: the browser retries in a moment.
    opts.log.warn({ err }, "progress snapshot unavailable; the browser will retry");
    return sse.endWithRetry(opts.retryMs ?? 3_000, "done");
  }
  shown = snapshot;
  if (resumeFrom === null) {
    lastSeq = snapshot.seq;
    send(snapshot.seq, opts.render(snapshot, null));
    if (isTerminal(snapshot)) return finish();
  }
  if (!unsubscribe) {
    // Without Valkey the browser polls by reconnecting: it gets a fresh snapshot each time.
    send(lastSeq, opts.render(snapshot, null), opts.retryMs ?? 3_000);
    return sse.end();
  }
  // The replay goes on after the handler returns: only then does Koa pipe the body to the client,
  // and a paced replay needs the client to be reading.
  const catchUp = async () => {
    try {
      const missed = await opts.hub.readSince(opts.resource, lastSeq);
      if (resumeFrom !== null) metrics?.replayed();
      // Paced: a long replay waits for the client instead of queueing all of it at once.
      for (const e of missed) {
        await sse.ready();
        deliver(e, true);
      }
      // A client resuming after the terminal event has nothing left to wait for.
      const newest = sse.closed ? null : await opts.hub.latest(opts.resource);
      if (newest && isTerminal(newest) && newest.seq <= lastSeq) return finish();
    } catch (err) {
      opts.log.warn({ err }, "could not replay progress from the stream");
    }
    replaying = false;
    for (const e of pending.splice(0)) deliver(e);
    // Events the worker could not publish (Valkey was away) are not in the stream; the snapshot has their sum.
    if (!sse.closed && !isTerminal(snapshot) && snapshot.seq > lastSeq) {
      lastSeq = snapshot.seq;
      send(snapshot.seq, opts.render(snapshot, null));
    }
    if (!sse.closed && isTerminal(snapshot)) {
      // The terminal event may have been dropped from the stream; the snapshot still has it.
      if (lastSeq < snapshot.seq) deliver({ ...snapshot, kind: "terminal", at: snapshot.at ?? new Date().toISOString() });
      else finish();
    }
  };
  void catchUp().catch((err: unknown) => {
    opts.log.warn({ err }, "progress stream failed");
    sse.end();
  });
}
