/**
 * Every SSE stream this web process has open: admission (per-session and per-address limits, 429
 * beyond them), one shared timer for keep-alive comments and the maximum stream duration (the
 * browser is told to reconnect), and `closeAll()` for shutdown. Limits are per process.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Context } from "koa";
import type { SseMetrics } from "./sse-metrics.ts";
import { openSse, type SseStream } from "./sse-response.ts";

export interface SseStreamsOptions {
  keepAliveMs: number;
  /** A stream is ended (with a `retry:` hint) after about this long; spread by up to -10 % so reconnects do not come in waves. */
  maxDurationMs: number;
  maxBufferBytes: number;
  /** The reconnect delay sent to the browser when the server ends a stream it should resume. */
  retryMs: number;
  maxPerSession: number;
  maxPerIp: number;
  metrics?: SseMetrics | undefined;
}

export interface StreamRefusal {
  status: 429 | 503;
  message: string;
  retryAfter: string;
  /** Which limit refused it (429 only). */
  limit?: "session" | "ip";
}

interface Entry {
  stream: SseStream;
  session: string;
  ip: string;
  deadline: number;
  nextKeepAlive: number;
}

export function createSseStreams(opts: SseStreamsOptions) {
  const entries = new Set<Entry>();
  const perSession = new Map<string, number>();
  const perIp = new Map<string, number>();
  let draining = false;
  let timer: NodeJS.Timeout | null = null;
  const tickMs = Math.max(50, Math.min(1_000, opts.keepAliveMs, Math.floor(opts.maxDurationMs / 4)));

  const bump = (map: Map<string, number>, key: string, by: number) => {
    const n = (map.get(key) ?? 0) + by;
    if (n <= 0) map.delete(key);
    else map.set(key, n);
  };

  // Each stream keeps its own keep-alive phase: writing to every stream in one tick blocked the
  // event loop for ~100 ms at 10,000 streams and showed up as the p99 of event delivery (bench).
  function tick(): void {
    const now = Date.now();
    for (const e of entries) {
      if (now >= e.deadline) e.stream.endWithRetry(opts.retryMs, "expired");
      else if (now >= e.nextKeepAlive) {
        e.nextKeepAlive = now + opts.keepAliveMs;
        e.stream.comment("keep-alive");
      }
    }
  }

  /** Why a new stream would be refused now (shutting down, or a limit reached), or null to admit it. */
  function refusal(session: string, ip: string): StreamRefusal | null {
    if (draining) return { status: 503, message: "The server is restarting. Please reload the page.", retryAfter: "1" };
    const limit =
      (perSession.get(session) ?? 0) >= opts.maxPerSession ? "session" : (perIp.get(ip) ?? 0) >= opts.maxPerIp ? "ip" : null;
    if (!limit) return null;
    return {
      status: 429,
      message: "Too many live progress views are open. Close a few tabs and try again.",
      retryAfter: "5",
      limit,
    };
  }

  /** Opens an SSE response for a stream `refusal` admitted. */
  function open(req: IncomingMessage, res: ServerResponse, who: { session: string; ip: string; requestId?: string }): SseStream {
    const stream = openSse(req, res, { maxBufferBytes: opts.maxBufferBytes, requestId: who.requestId });
    const now = Date.now();
    const { session, ip } = who;
    const entry: Entry = {
      stream,
      session,
      ip,
      deadline: now + opts.maxDurationMs * (0.9 + Math.random() * 0.1),
      // The first keep-alive at a random point of the interval, so streams opened together do not tick together.
      nextKeepAlive: now + opts.keepAliveMs * (0.5 + Math.random() * 0.5),
    };
    entries.add(entry);
    bump(perSession, session, 1);
    bump(perIp, ip, 1);
    opts.metrics?.opened();
    if (!timer) {
      timer = setInterval(tick, tickMs);
      timer.unref();
    }
    stream.onClose((reason) => {
      entries.delete(entry);
      bump(perSession, session, -1);
      bump(perIp, ip, -1);
      opts.metrics?.closed();
      if (reason === "slow") opts.metrics?.closedForSlowness();
      if (entries.size === 0 && timer) {
        clearInterval(timer);
        timer = null;
      }
    });
    return stream;
  }

  /** On the Koa path: opens the stream on `ctx`, or throws 429 (limit) / 503 (shutting down). */
  function openOn(ctx: Context): SseStream {
    const session: string = (ctx.state as { session?: { id?: string } }).session?.id ?? "";
    const refused = refusal(session, ctx.ip);
    if (refused) {
      if (refused.limit) opts.metrics?.refused(refused.limit);
      return ctx.throw(refused.status, refused.message, { headers: { "Retry-After": refused.retryAfter } });
    }
    ctx.respond = false;
    return open(ctx.req, ctx.res, { session, ip: ctx.ip });
  }

  /**
   * For shutdown: refuses new streams (503) and ends every open one with a `retry:` hint, so
   * browsers reconnect (to another replica, or to this one once restarted). Returns how many it ended.
   */
  function closeAll(): number {
    draining = true;
    const open = [...entries];
    for (const e of open) e.stream.endWithRetry(opts.retryMs, "shutdown");
    return open.length;
  }

  return {
    refusal,
    open,
    openOn,
    closeAll,
    metrics: opts.metrics,
    get size() {
      return entries.size;
    },
  };
}
export type SseStreams = ReturnType<typeof createSseStreams>;

/**
 * On the Koa path: the stream for `ctx`, through the process's tracker when there is one (limits,
 * keep-alive, shutdown; it throws 429/503), else a plain one with its own keep-alive.
 */
export function openKoaStream(ctx: Context, deps: { sseStreams?: SseStreams | undefined; keepAliveMs: number }): SseStream {
  (ctx as { compress?: boolean }).compress = false;
  if (deps.sseStreams) return deps.sseStreams.openOn(ctx);
  ctx.respond = false;
  return openSse(ctx.req, ctx.res, { keepAliveMs: deps.keepAliveMs });
}
