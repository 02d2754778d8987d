/**
 * A Server-Sent Events response on a Koa context: a PassThrough body, no buffering or
 * compression, keep-alive comments, and cleanup when either side closes.
 */
import { PassThrough } from "node:stream";
import type { Context } from "koa";

export interface SseStream {
  send(event: { event?: string; id?: number | string; data: string; retryMs?: number }): void;
  end(): void;
  readonly closed: boolean;
  /** Called once, when the client goes away or the server ends the stream. */
  onClose(fn: () => void): void;
}

export function openSse(ctx: Context, opts: { keepAliveMs: number }): SseStream {
  const body = new PassThrough();
  const closers: Array<() => void> = [];
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(keepAlive);
    for (const fn of closers.splice(0)) fn();
    body.end();
  };
  ctx.req.socket.setTimeout(0);
  ctx.req.socket.setNoDelay(true);
  ctx.req.on("close", close);
  ctx.status = 200;
  ctx.set("Content-Type", "text/event-stream; charset=utf-8");
  ctx.set("Cache-Control", "no-cache, no-transform");
  ctx.set("X-Accel-Buffering", "no");
  ctx.set("Connection", "keep-alive");
  (ctx as { compress?: boolean }).compress = false;
  ctx.body = body;
  const keepAlive = setInterval(() => {
    if (!closed) body.write(": keep-alive\n\n");
  }, opts.keepAliveMs);
  keepAlive.unref();

  return {
    send({ event, id, data, retryMs }) {
      if (closed) return;
      let frame = "";
      if (retryMs !== undefined) frame += `retry: ${retryMs}\n`;
      if (id !== undefined) frame += `id: ${id}\n`;
      if (event) frame += `event: ${event}\n`;
      // Every line ending the browser's parser knows (CRLF, CR, LF) starts a new data line, so no
      // payload can smuggle in an id: or event: field.
      for (const line of data.split(/\r\n|\r|\n/)) frame += `data: ${line}\n`;
      body.write(`${frame}\n`);
    },
    end: close,
    get closed() {
      return closed;
    },
    onClose(fn) {
      if (closed) fn();
      else closers.push(fn);
    },
  };
}
