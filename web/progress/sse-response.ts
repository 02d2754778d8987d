/**
 * A Server-Sent Events response on a Koa context: written straight to the socket's response, no
 * buffering or compression, cleanup when either side closes, and a bound on what may wait for a
 * slow reader.
 */
import type { Context } from "koa";

/** Why a stream ended: the client left, the resource finished, the client read too slowly, it ran too long, shutdown. */
export type SseCloseReason = "client" | "done" | "slow" | "expired" | "shutdown" | "resync";

export interface SseFields {
  event?: string;
  id?: number | string;
  data: string;
  retryMs?: number;
}

export interface SseStream {
  /**
   * Writes one event. `paced`: the caller waits for `ready()` between writes (a replay), so the
   * buffer limit does not apply; live events are never paced, so a stuck client is cut off.
   */
  send(event: SseFields, opts?: { paced?: boolean }): void;
  /** Resolves once the client has taken what was queued (or the stream closed): a replay waits on it. */
  ready(): Promise<void>;
  /** Closes the connection without flushing, as for a client past its buffer limit. */
  abort(): void;
  /** A comment line (keep-alive): ignored by the browser, keeps proxies from timing the stream out. */
  comment(text: string): void;
  end(): void;
  /** Ends the stream with a `retry:` hint, so the browser reconnects (with Last-Event-ID) after `retryMs`. */
  endWithRetry(retryMs: number, reason: "expired" | "shutdown" | "done" | "resync"): void;
  readonly closed: boolean;
  readonly closeReason: SseCloseReason | null;
  /** Bytes written but not yet taken by the kernel. */
  readonly bufferedBytes: number;
  /** Called once, when the client goes away or the server ends the stream. */
  onClose(fn: (reason: SseCloseReason) => void): void;
}

export interface OpenSseOptions {
  /** Its own keep-alive timer; leave it out when a tracker (sse-streams.ts) sends keep-alives for every stream. */
  keepAliveMs?: number;
  /**
   * More than this many bytes waiting for the client closes the connection without flushing: a
   * stuck client must not grow the process's memory. The browser reconnects and replays.
   */
  maxBufferBytes?: number;
}

export function openSse(ctx: Context, opts: OpenSseOptions = {}): SseStream {
  // Written straight to the Node response, not through a PassThrough body that Koa pipes: with
  // thousands of open streams, the extra stream, pipe and end-of-stream listeners per connection
  // were a measurable share of the web's memory (see README, Performance).
  const res = ctx.res;
  const closers: Array<(reason: SseCloseReason) => void> = [];
  const maxBuffer = opts.maxBufferBytes ?? Number.POSITIVE_INFINITY;
  let closed = false;
  let closeReason: SseCloseReason | null = null;
  let keepAlive: NodeJS.Timeout | undefined;
  const close = (reason: SseCloseReason) => {
    if (closed) return;
    closed = true;
    closeReason = reason;
    clearInterval(keepAlive);
    for (const fn of closers.splice(0)) fn(reason);
    // A client past its buffer limit loses what is queued: that memory is exactly what we want back.
    if (reason === "slow") res.destroy();
    else res.end();
  };
  const write = (chunk: string, paced = false) => {
    if (closed) return;
    res.write(chunk);
    if (!paced && res.writableLength > maxBuffer) close("slow");
  };
  ctx.req.socket.setTimeout(0);
  ctx.req.socket.setNoDelay(true);
  res.once("close", () => close("client"));
  ctx.status = 200;
  ctx.set("Content-Type", "text/event-stream; charset=utf-8");
  ctx.set("Cache-Control", "no-cache, no-transform");
  ctx.set("X-Accel-Buffering", "no");
  ctx.set("Connection", "keep-alive");
  (ctx as { compress?: boolean }).compress = false;
  // Koa leaves this response alone from here on; the headers go out now, so the browser sees the
  // stream open even before the first event.
  ctx.respond = false;
  res.flushHeaders();
  if (opts.keepAliveMs !== undefined) {
    keepAlive = setInterval(() => write(": keep-alive\n\n"), opts.keepAliveMs);
    keepAlive.unref();
  }

  return {
    send({ event, id, data, retryMs }, sendOpts) {
      if (closed) return;
      let frame = "";
      if (retryMs !== undefined) frame += `retry: ${retryMs}\n`;
      if (id !== undefined) frame += `id: ${id}\n`;
      if (event) frame += `event: ${event}\n`;
      // Every line ending the browser's parser knows (CRLF, CR, LF) starts a new data line, so no
      // payload can smuggle in an id: or event: field.
      for (const line of data.split(/\r\n|\r|\n/)) frame += `data: ${line}\n`;
      write(`${frame}\n`, sendOpts?.paced === true);
    },
    ready() {
      if (closed || !res.writableNeedDrain) return Promise.resolve();
      return new Promise<void>((resolve) => {
        res.once("drain", () => resolve());
        closers.push(() => resolve());
      });
    },
    abort: () => close("slow"),
    comment(text) {
      write(`: ${text}\n\n`);
    },
    end: () => close("done"),
    endWithRetry(retryMs, reason) {
      write(`retry: ${retryMs}\n\n`);
      close(reason);
    },
    get closed() {
      return closed;
    },
    get closeReason() {
      return closeReason;
    },
    get bufferedBytes() {
      return closed ? 0 : res.writableLength;
    },
    onClose(fn) {
      if (closed) fn(closeReason ?? "done");
      else closers.push(fn);
    },
  };
}
