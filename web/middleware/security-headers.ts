/** Security headers on every response; the CSP forbids inline script and style. */
import type { Middleware } from "koa";

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "object-src 'none'",
].join("; ");

export function securityHeaders(opts: { hsts: boolean }): Middleware {
  return async (ctx, next) => {
    ctx.set("Content-Security-Policy", CSP);
    ctx.set("X-Content-Type-Options", "nosniff");
    ctx.set("X-Frame-Options", "DENY");
    ctx.set("Referrer-Policy", "same-origin");
    ctx.set("Cross-Origin-Opener-Policy", "same-origin");
    ctx.set("Permissions-Policy", "camera=(), microphone=(), geolocation=()");
    if (opts.hsts) ctx.set("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
    await next();
  };
}
