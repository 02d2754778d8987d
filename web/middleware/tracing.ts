/**
 * Names each request's span after its route template (`POST /orders`, as the semantic
 * conventions do), continuing the caller's trace; probes and assets stay out. With the http
 * instrumentation preloaded, the span is the server span it opened for the request (one span, not
 * two): it learns the route here and names itself. Without it, the span is made here.
 */
import { context, trace } from "@opentelemetry/api";
import { getRPCMetadata, RPCType } from "@opentelemetry/core";
import type { Context, Middleware } from "koa";
import { contextFromHeaders, inSpan, isUntracedPath } from "../../shared/telemetry.ts";

export function tracing(): Middleware {
  return async (ctx, next) => {
    if (isUntracedPath(ctx.path)) {
      await next();
      return;
    }
    const server = trace.getActiveSpan();
    if (server?.isRecording()) {
      try {
        await next();
      } finally {
        const rpc = getRPCMetadata(context.active());
        const route = routeOf(ctx);
        if (rpc?.type === RPCType.HTTP && route) rpc.route = route;
      }
      return;
    }
    await inSpan(
      ctx.method,
      contextFromHeaders((name) => ctx.get(name) || undefined),
      async (span) => {
        await next();
        span.updateName(`${ctx.method} ${routeOf(ctx) ?? "unmatched"}`);
        span.setAttributes({
          "http.request.method": ctx.method,
          "http.route": routeOf(ctx) ?? "",
          "http.response.status_code": ctx.status,
        });
      },
    );
  };
}

/** The route template the router matched (`/orders/:id`), never the path with its ids. */
function routeOf(ctx: Context): string | undefined {
  const matched = (ctx as { _matchedRoute?: unknown })._matchedRoute;
  return typeof matched === "string" ? matched : undefined;
}
