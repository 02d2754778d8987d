/**
 * Response hygiene for every route: a request timeout (503 instead of a hung request), a default
 * Cache-Control (pages are per session: never stored by shared caches), and compression for
 * everything but the SSE streams, which must reach the browser event by event.
 */
import zlib from "node:zlib";
import compress from "koa-compress";
import type { Middleware } from "koa";

export function requestTimeout(ms: number): Middleware {
  return async (ctx, next) => {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), ms);
    });
    try {
      const outcome = await Promise.race([next().then(() => "done" as const), timedOut]);
      if (outcome === "timeout" && !ctx.headerSent) {
        ctx.throw(503, "This took too long on our side. Please try again.", { expose: true, headers: { "Retry-After": "5" } });
      }
    } finally {
      clearTimeout(timer);
    }
  };
}

export function defaultCacheControl(): Middleware {
  return async (ctx, next) => {
    await next();
    if (ctx.response.get("Cache-Control")) return;
    if (ctx.response.is("html") || ctx.response.is("json")) ctx.set("Cache-Control", "no-store");
  };
}

export function compression(): Middleware {
  return compress({
    threshold: 1024,
    filter: (type) => !/text\/event-stream/i.test(type) && /text|javascript|json|svg|xml/i.test(type),
    // Brotli's default quality (11) costs far more CPU than it saves bytes on small pages.
    br: { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } },
  });
}
