/** One span per request when tracing is on, continuing the caller's trace; probes and assets stay out. */
import type { Middleware } from "koa";
import { contextFromHeaders, inSpan } from "../../shared/telemetry.ts";

const UNTRACED = /^\/(live|ready|startup|assets\/)/;

export function tracing(): Middleware {
  return async (ctx, next) => {
    if (UNTRACED.test(ctx.path)) return next();
    await inSpan(
      `HTTP ${ctx.method}`,
      contextFromHeaders((name) => ctx.get(name) || undefined),
      async (span) => {
        await next();
        const route = (ctx as { _matchedRoute?: unknown })._matchedRoute;
        span.updateName(`HTTP ${ctx.method} ${typeof route === "string" ? route : "unmatched"}`);
        span.setAttributes({
          "http.request.method": ctx.method,
          "http.route": typeof route === "string" ? route : "",
          "http.response.status_code": ctx.status,
        });
      },
    );
  };
}
