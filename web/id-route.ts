/**
 * A route constraint for `/things/:id`: the route answers only when `:id` is one of its ids. Any
 * other segment (`/orders/new`, `/orders/find`, served by other routers) goes on to the routes
 * mounted after it, so which route answers a path never depends on the order routers are mounted
 * in. When nothing after it answers either, the 404 is still the route's own: a malformed id looks
 * the same as an unknown or someone else's one (ownership-check.ts).
 */
import type { RouterMiddleware } from "@koa/router";
import type { Next } from "koa";
import type { z } from "zod";
import type { AppState } from "./app-state.ts";

export interface IdRouteOptions {
  /** Parses the route's `:id`. */
  idSchema: z.ZodType<string>;
  /** The route's 404 message for a path no route answered. */
  notFound: string;
}

export function idRoute(opts: IdRouteOptions, ...stack: RouterMiddleware<AppState>[]): RouterMiddleware<AppState> {
  return async (ctx, next) => {
    if (!opts.idSchema.safeParse(ctx.params.id).success) {
      await next();
      if (ctx.status === 404 && !ctx.body) ctx.throw(404, opts.notFound);
      return;
    }
    // The route's own middleware in order, the last one's `next` being the router's.
    const run = (i: number): Promise<unknown> =>
      i < stack.length ? Promise.resolve(stack[i]!(ctx, (() => run(i + 1)) as Next)) : next();
    await run(0);
  };
}
