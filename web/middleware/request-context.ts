/**
 * A request id (echoed as `x-request-id`) and a child logger per request; one access-log line
 * each, carrying what the route put in `ctx.state.logFields` (a line per request, not two: each
 * line is a write to stdout, and under form ingest those writes were a measurable share of the
 * web's CPU).
 */
import { randomUUID } from "node:crypto";
import type { Middleware } from "koa";
import type { Logger } from "../../shared/logger.ts";
import type { AppState } from "../app-state.ts";

const QUIET_PATHS = new Set(["/live", "/ready", "/startup"]);

export function requestContext(logger: Logger): Middleware<AppState> {
  return async (ctx, next) => {
    const incoming = ctx.get("x-request-id");
    const reqId = /^[\w-]{8,64}$/.test(incoming) ? incoming : randomUUID();
    ctx.state.reqId = reqId;
    ctx.state.log = logger.child({ reqId });
    ctx.set("x-request-id", reqId);
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
