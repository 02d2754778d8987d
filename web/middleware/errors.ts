/**
 * Turns thrown errors into pages. Client errors (4xx) show their message; anything else is logged
 * and shows a generic page, never internal text.
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

export function errorPages(): Middleware<AppState> {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && !ctx.body) ctx.throw(404, "We could not find that page.");
    } catch (raw) {
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
