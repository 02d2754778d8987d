/**
 * The routes an app serves, read from the routers mounted on it rather than written down
 * anywhere: what a check over "every route" walks, so a route added tomorrow is in it without
 * anyone listing it. It only reads; the app is not changed.
 */
import Router from "@koa/router";

export interface RegisteredRoute {
  method: string;
  /** The router's template, e.g. `/orders/:id/cancel`. */
  path: string;
  /** The template's parameters, as the router names them. */
  params: string[];
}

/**
 * Every method and path served by a router mounted on `app` (as `router.routes()` or
 * `router.middleware()`), in mounting order; HEAD, which a router adds to every GET, left out.
 */
export function registeredRoutes(app: { middleware: readonly unknown[] }): RegisteredRoute[] {
  const routers = app.middleware.flatMap((mw) =>
    typeof mw === "function" && "router" in mw && mw.router instanceof Router ? [mw.router] : [],
  );
  return routers.flatMap((router) =>
    router.stack.flatMap((layer) =>
      layer.methods
        .filter((method) => method !== "HEAD")
        .map((method) => ({ method, path: String(layer.path), params: layer.paramNames.map((key) => String(key.name)) })),
    ),
  );
}
