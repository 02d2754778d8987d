/**
 * Progress of any resource (order, content job, campaign) as an SSE response. A fresh client gets
 * the durable snapshot first; a reconnecting one (Last-Event-ID = seq) gets exactly the events it
 * missed from the Valkey stream. Live events follow, de-duplicated by seq; the stream ends with a
 * `done` event after the terminal event. Ownership must be checked before calling this.
 */
import type { Context } from "koa";
import type { Logger } from "../shared/logger.ts";
import { isTerminal, type ProgressEvent, type ProgressSnapshot, type ResourceRef } from "../shared/progress-event.ts";
import type { ProgressHub } from "./adapters/progress-hub.ts";
import { openSse } from "./sse-response.ts";

export interface SseFrame {
  event: string;
  data: string;
}

export interface ProgressStreamOptions {
  resource: ResourceRef;
  hub: ProgressHub;
  log: Logger;
  keepAliveMs: number;
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
  const sse = openSse(ctx, { keepAliveMs: opts.keepAliveMs });
  // The latest state the client has seen: the base every next frame is rendered from.
  let shown: ProgressSnapshot | null = null;
  let lastSeq = resumeFrom ?? 0;
  const pending: ProgressEvent[] = [];
  let replaying = true;

  const send = (id: number, frames: SseFrame[], retryMs?: number) => {
    frames.forEach((f, i) => sse.send({ ...f, id, ...(i === 0 && retryMs !== undefined ? { retryMs } : {}) }));
  };
  const finish = () => {
    sse.send({ event: "done", data: "done" });
    sse.end();
  };
  const deliver = (e: ProgressEvent) => {
    if (sse.closed || e.seq <= lastSeq) return;
    lastSeq = e.seq;
    shown = { ...(shown ?? { invocationId: null }), ...e };
    send(e.seq, opts.render(shown, e));
    if (isTerminal(e)) finish();
  };

  let unsubscribe: (() => void) | null = null;
  sse.onClose(() => unsubscribe?.());
  try {
    unsubscribe = await opts.hub.subscribe(opts.resource, (e) => (replaying ? pending.push(e) : deliver(e)));
  } catch (err) {
    opts.log.warn({ err }, "live progress unavailable; sending the snapshot only");
  }

  // The snapshot tells a fresh client where things stand, and every client the invocation.
  const snapshot = await opts.loadSnapshot();
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
  try {
    for (const e of await opts.hub.readSince(opts.resource, lastSeq)) deliver(e);
    // A client resuming after the terminal event has nothing left to wait for.
    const newest = sse.closed ? null : await opts.hub.latest(opts.resource);
    if (newest && isTerminal(newest) && newest.seq <= lastSeq) return finish();
  } catch (err) {
    opts.log.warn({ err }, "could not replay progress from the stream");
  }
  replaying = false;
  for (const e of pending.splice(0)) deliver(e);
  if (!sse.closed && isTerminal(snapshot)) {
    // The terminal event may have been dropped from the stream; the snapshot still has it.
    if (lastSeq < snapshot.seq) deliver({ ...snapshot, kind: "terminal", at: snapshot.at ?? new Date().toISOString() });
    else finish();
  }
}
