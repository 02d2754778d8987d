/**
 * A request id (echoed as `x-request-id`), the client's address, and a child logger per request;
 * one access-log line each, carrying what the route put in `ctx.state.logFields` (a line per
 * request, not two: each line is a write to stdout, and under form ingest those writes were a
 * measurable share of the web's CPU). Progress streams served before Koa (progress/stream-front.ts)
 * take their id and address from the same two functions.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Middleware } from "koa";
import type { Logger } from "../../shared/logger.ts";
import type { AppState } from "../app-state.ts";

const QUIET_PATHS = new Set(["/live", "/ready", "/startup"]);

/** The caller's `x-request-id` when it looks like one (so a proxy's id follows the request), else a new one. */
export function requestIdOf(req: IncomingMessage): string {
  const incoming = req.headers["x-request-id"];
  return typeof incoming === "string" && /^[\w-]{8,64}$/.test(incoming) ? incoming : randomUUID();
}

/**
 * The client's address: behind our one reverse proxy (`trustProxy`), the last X-Forwarded-For
 * entry, the one that proxy appended (never the entries a client wrote itself); else the socket's
 * peer. Rate limits and the per-address stream limit are keyed on it.
 */
export function clientIp(req: IncomingMessage, trustProxy: boolean): string {
  const forwarded = trustProxy ? req.headers["x-forwarded-for"] : undefined;
  const last = typeof forwarded === "string" ? forwarded.split(",").at(-1)?.trim() : undefined;
  return last || req.socket.remoteAddress || "";
}

export function requestContext(logger: Logger): Middleware<AppState> {
  return async (ctx, next) => {
    const reqId = requestIdOf(ctx.req);
    ctx.state.reqId = reqId;
    ctx.state.log = logger.child({ reqId });
    ctx.set("x-request-id", reqId);
    // Koa's own `ctx.ip` reads the same header by the app's `proxy` setting; set here, every
    // reader of `ctx.ip` gets the address the stream front computes, by the same function.
    ctx.request.ip = clientIp(ctx.req, ctx.app.proxy);
    const started = performance.now();
    try {
      await next();
    } finally {
      if (!QUIET_PATHS.has(ctx.path)) {
        ctx.state.log.info(
          {
            method: ctx.method,
            path: ctx.path,
            status: ctx.status,
            ms: Math.round(performance.now() - started),
            ...ctx.state.logFields,
          },
          "request",
        );
      }
    }
  };
}
