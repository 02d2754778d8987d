/** Answers 429 with Retry-After once a caller passes its limit for this route. */
import type { Middleware } from "koa";
import type { RateLimiter } from "../adapters/rate-limiter.ts";
import type { AppState } from "../app-state.ts";

export function rateLimit(opts: {
  limiter: RateLimiter;
  name: string;
  perMinute: number;
  message: string;
}): Middleware<AppState> {
  return async (ctx, next) => {
    // Per session, and per client address with room for many people behind one NAT: a new cookie
    // does not buy a fresh allowance.
    const d = await opts.limiter.hitAll(
      [
        [`${opts.name}:s:${ctx.state.session.id}`, opts.perMinute],
        [`${opts.name}:ip:${ctx.ip}`, opts.perMinute * 10],
      ],
      60,
    );
    if (!d.allowed) ctx.throw(429, opts.message, { headers: { "Retry-After": String(d.retryAfterSeconds) } });
    await next();
  };
}
