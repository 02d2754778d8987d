/** `createApp(deps)`: the Koa application, never listening; `main.ts` owns the server. */
import Koa from "koa";
import type { Logger } from "../shared/logger.ts";
import type { CatalogRepo } from "./adapters/catalog.repo.ts";
import type { OrdersClient } from "./adapters/orders-client.ts";
import type { OwnershipStore } from "./adapters/ownership.store.ts";
import type { ProgressHub } from "./adapters/progress-hub.ts";
import type { AppState } from "./app-state.ts";
import { errorPages } from "./middleware/errors.ts";
import { requestContext } from "./middleware/request-context.ts";
import { securityHeaders } from "./middleware/security-headers.ts";
import { sessions } from "./middleware/session.ts";
import { staticAssets } from "./middleware/static-assets.ts";
import { catalogRoutes } from "./routes/catalog.routes.ts";
import { healthRoutes, type ReadinessCheck } from "./routes/health.routes.ts";
import { orderEventRoutes } from "./routes/order-events.routes.ts";
import { orderRoutes } from "./routes/orders.routes.ts";

export interface AppDeps {
  logger: Logger;
  catalog: CatalogRepo;
  orders: OrdersClient;
  ownership: OwnershipStore;
  hub: ProgressHub;
  readiness: ReadinessCheck;
  config: {
    profile: "dev" | "prod";
    sessionSecret: string;
    sessionTtlSeconds: number;
    restateUiUrl: string | undefined;
    sseKeepAliveMs: number;
    readyCacheMs: number;
  };
}

export function createApp(deps: AppDeps): Koa<AppState> {
  const app = new Koa<AppState>({ keys: [deps.config.sessionSecret], proxy: deps.config.profile === "prod" });
  app.silent = true; // errors are logged by the error middleware, with the request id
  const health = healthRoutes({ check: deps.readiness, cacheMs: deps.config.readyCacheMs });
  const secure = deps.config.profile === "prod";
  const routes = [
    catalogRoutes(deps),
    orderRoutes({ ...deps, restateUiUrl: deps.config.restateUiUrl, formLimitBytes: 16 * 1024 }),
    orderEventRoutes({ ...deps, restateUiUrl: deps.config.restateUiUrl, keepAliveMs: deps.config.sseKeepAliveMs }),
  ];

  app.use(requestContext(deps.logger));
  app.use(securityHeaders({ hsts: secure }));
  app.use(errorPages());
  app.use(health.routes());
  app.use(staticAssets());
  app.use(sessions({ secret: deps.config.sessionSecret, ttlSeconds: deps.config.sessionTtlSeconds, secure }));
  for (const r of routes) app.use(r.routes()).use(r.allowedMethods());
  return app;
}
