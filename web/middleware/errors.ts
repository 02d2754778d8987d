/**
 * Turns thrown errors into pages. Client errors (4xx) show their message; a dependency that is
 * briefly away (PostgreSQL restarting, Valkey unreachable) is a 503 with Retry-After; anything
 * else is logged and shows a generic page, never internal text.
 */
import type { Middleware } from "koa";
import type { AppState } from "../app-state.ts";
import { errorPage } from "../views/error.view.ts";

interface HttpishError {
  status?: unknown;
  statusCode?: unknown;
  expose?: unknown;
  message?: unknown;
  headers?: unknown;
}

// PostgreSQL: the server is shutting down, starting up, or the connection is gone.
const PG_UNAVAILABLE = new Set(["57P01", "57P02", "57P03", "08000", "08001", "08003", "08006"]);
const NET_UNAVAILABLE = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH"]);
// ioredis: the connection is down and the command was not (or could not be) queued.
const VALKEY_UNAVAILABLE =
  /^(Connection is closed|Command timed out|Stream isn't writeable|Reached the max retries per request)|^connect ECONNREFUSED/;
const PG_CONNECTION_LOST = /^(Connection terminated|timeout exceeded when trying to connect)/;

/** True for errors that mean "a backing service is away for a moment", not "this request is wrong". */
export function isDependencyOutage(raw: unknown, depth = 0): boolean {
  const err = (raw ?? {}) as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown };
  const code = typeof err.code === "string" ? err.code : "";
  const message = typeof err.message === "string" ? err.message : "";
  if (PG_UNAVAILABLE.has(code) || NET_UNAVAILABLE.has(code)) return true;
  if (err.name === "MaxRetriesPerRequestError" || VALKEY_UNAVAILABLE.test(message) || PG_CONNECTION_LOST.test(message))
    return true;
  return depth < 5 && err.cause !== undefined && isDependencyOutage(err.cause, depth + 1);
}

export const OUTAGE_RETRY_AFTER_SECONDS = 2;

export function errorPages(): Middleware<AppState> {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && !ctx.body) ctx.throw(404, "We could not find that page.");
    } catch (raw) {
      if (isDependencyOutage(raw)) {
        ctx.state.log?.warn({ err: raw }, "a backing service is unavailable");
        if (ctx.headerSent || !ctx.writable) return;
        ctx.status = 503;
        ctx.set("Retry-After", String(OUTAGE_RETRY_AFTER_SECONDS));
        ctx.type = "html";
        ctx.body = errorPage(ctx, 503, "Part of our system is briefly unavailable. Please try again in a moment.");
        return;
      }
      const err = (raw ?? {}) as HttpishError;
      const candidate = Number(err.status ?? err.statusCode);
      const status = Number.isInteger(candidate) && candidate >= 400 && candidate < 600 ? candidate : 500;
      const expose = err.expose === true || (status < 500 && err.expose === undefined);
      if (status >= 500) ctx.state.log?.error({ err: raw }, "request failed");
      if (ctx.headerSent || !ctx.writable) return;
      ctx.status = status;
      if (err.headers && typeof err.headers === "object") ctx.set(err.headers as Record<string, string>);
      const message =
        expose && typeof err.message === "string" ? err.message : "Something went wrong on our side. Please try again.";
      ctx.type = "html";
      ctx.body = errorPage(ctx, status, message);
    }
  };
}
