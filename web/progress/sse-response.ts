/**
 * A Server-Sent Events response on a plain Node response: written straight to the socket, no
 * buffering or compression, cleanup when either side closes, and a bound on what may wait for a
 * slow reader.
 *
 * One object per open stream, with its methods on the prototype: at 10,000 streams, the dozen
 * closures an object literal carried per stream were a measurable share of the web's memory
 * (docs/performance.md, SSE memory).
 */
import type { IncomingMessage, ServerResponse } from "node:http";

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
  /**
   * Sends the response headers now if nothing has been written yet. They otherwise go out with the
   * first event, in the same write: a stream about to wait for its next event calls this, so the
   * browser sees it open.
   */
  flushHeaders(): void;
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
  /** Echoed as `x-request-id`, as on every other response. */
  requestId?: string;
}

/**
 * The response headers of every stream, as one flat list given to `writeHead`: Node then keeps
 * only the header block it sends, not a header map per response. Security headers that concern
 * documents (CSP, frame options) do not apply to an event stream and are left out.
 */
function streamHeaders(requestId: string | undefined): string[] {
  const headers = [
    "Content-Type",
    "text/event-stream; charset=utf-8",
    "Cache-Control",
    "no-cache, no-transform",
    "X-Accel-Buffering",
    "no",
    "X-Content-Type-Options",
    "nosniff",
  ];
  if (requestId) headers.push("X-Request-Id", requestId);
  return headers;
}

const LINE_BREAK = /\r\n|\r|\n/g;

class SseResponse implements SseStream {
  private readonly res: ServerResponse;
  private readonly maxBuffer: number;
  private closers: Array<(reason: SseCloseReason) => void> | null = null;
  private keepAlive: NodeJS.Timeout | undefined;
  closed = false;
  closeReason: SseCloseReason | null = null;

  constructor(req: IncomingMessage, res: ServerResponse, opts: OpenSseOptions) {
    this.res = res;
    this.maxBuffer = opts.maxBufferBytes ?? Number.POSITIVE_INFINITY;
    req.socket.setTimeout(0);
    req.socket.setNoDelay(true);
    res.once("close", () => this.close("client"));
    // Headers already set on `res` (by middleware, on the Koa path) are merged in by writeHead.
    // They go out with the first event (one write, not two), or on `flushHeaders()`.
    res.writeHead(200, streamHeaders(opts.requestId));
    if (opts.keepAliveMs !== undefined) {
      this.keepAlive = setInterval(() => this.write(": keep-alive\n\n"), opts.keepAliveMs);
      this.keepAlive.unref();
    }
  }

  private close(reason: SseCloseReason): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = reason;
    clearInterval(this.keepAlive);
    const closers = this.closers;
    this.closers = null;
    if (closers) for (const fn of closers) fn(reason);
    // A client past its buffer limit loses what is queued: that memory is exactly what we want back.
    if (reason === "slow") this.res.destroy();
    else this.res.end();
  }

  private write(chunk: string, paced = false): void {
    if (this.closed) return;
    this.res.write(chunk);
    if (!paced && this.res.writableLength > this.maxBuffer) this.close("slow");
  }

  send({ event, id, data, retryMs }: SseFields, sendOpts?: { paced?: boolean }): void {
    if (this.closed) return;
    let frame = "";
    if (retryMs !== undefined) frame += `retry: ${retryMs}\n`;
    if (id !== undefined) frame += `id: ${id}\n`;
    if (event) frame += `event: ${event}\n`;
    // Every line ending the browser's parser knows (CRLF, CR, LF) starts a new data line, so no
    // payload can smuggle in an id: or event: field.
    frame += `data: ${data.replace(LINE_BREAK, "\ndata: ")}\n\n`;
    this.write(frame, sendOpts?.paced === true);
  }

  flushHeaders(): void {
    if (!this.closed && !this.res.headersSent) this.res.flushHeaders();
  }

  ready(): Promise<void> {
    if (this.closed || !this.res.writableNeedDrain) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.res.once("drain", () => resolve());
      this.onClose(() => resolve());
    });
  }

  abort(): void {
    this.close("slow");
  }

  comment(text: string): void {
    this.write(`: ${text}\n\n`);
  }

  end(): void {
    this.close("done");
  }

  endWithRetry(retryMs: number, reason: "expired" | "shutdown" | "done" | "resync"): void {
    this.write(`retry: ${retryMs}\n\n`);
    this.close(reason);
  }

  get bufferedBytes(): number {
    return this.closed ? 0 : this.res.writableLength;
  }

  onClose(fn: (reason: SseCloseReason) => void): void {
    if (this.closed) fn(this.closeReason ?? "done");
    // Sized to fit (a stream has two or three): a growing array would reserve room for 17.
    else this.closers = this.closers ? [...this.closers, fn] : [fn];
  }
}

/** Opens the SSE response: status 200 and the stream's headers are sent at once. */
export function openSse(req: IncomingMessage, res: ServerResponse, opts: OpenSseOptions = {}): SseStream {
  return new SseResponse(req, res, opts);
}
