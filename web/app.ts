/**
 * `createApp(deps)`: the Koa application; `createWebListener(deps)`: it behind the lean front for
 * progress streams. Neither listens; `main.ts` owns the server.
 */
import type { RequestListener } from "node:http";
import type Router from "@koa/router";
import Koa from "koa";
import type { AppDeps } from "./app-deps.ts";
import { appRouters, progressStreams } from "./app-routers.ts";
import { operatorGate } from "./operators/operator-gate.ts";
import type { AppState } from "./app-state.ts";
import { createStreamFront } from "./progress/stream-front.ts";
import { errorPages } from "./middleware/errors.ts";
import { requestContext } from "./middleware/request-context.ts";
import { sameOriginWrites } from "./middleware/same-origin.ts";
import { securityHeaders } from "./middleware/security-headers.ts";
import { tracing } from "./middleware/tracing.ts";
import { sessions } from "./middleware/session.ts";
import { compression, defaultCacheControl, requestTimeout } from "./middleware/http-hygiene.ts";
import { staticAssets } from "./static-assets.ts";
import { healthRoutes } from "./routes/health.routes.ts";
import { STRIPE_WEBHOOK_PATH, stripeWebhookRoutes } from "./routes/stripe-webhooks.routes.ts";

/**
 * What the web's HTTP server runs: progress streams are served by the lean front
 * (progress/stream-front.ts) and everything else, refusals included, by the Koa app.
 */
export function createWebListener(deps: AppDeps): RequestListener {
  const streams = progressStreams(deps);
  return createStreamFront(
    {
      ...streams.deps,
      kinds: [streams.order, streams.content, streams.campaign],
      ownership: deps.ownership,
      sessionSecret: deps.config.sessionSecret,
      trustProxy: deps.config.profile === "prod",
      logger: deps.logger,
      metrics: deps.metrics,
      draining: deps.draining,
    },
    createApp(deps).callback(),
  );
}

/**
 * The Koa app. `routers` are the app's own (app-routers.ts) unless given: mounted in any order,
 * they answer the same, which a test checks by passing them reversed.
 */
export function createApp(deps: AppDeps, routers: readonly Router<AppState>[] = appRouters(deps)): Koa<AppState> {
  // Behind one reverse proxy in prod: trust only the address it appends to X-Forwarded-For, never
  // the entries a client wrote itself (rate limits are keyed on ctx.ip, which requestContext sets
  // with clientIp from `proxy`, as the stream front does).
  const app = new Koa<AppState>({ keys: [deps.config.sessionSecret], proxy: deps.config.profile === "prod", maxIpsCount: 1 });
  app.silent = true; // errors are logged by the error middleware, with the request id
  const health = healthRoutes({ check: deps.readiness, cacheMs: deps.config.readyCacheMs, draining: deps.draining });
  const secure = deps.config.profile === "prod";

  app.use(tracing());
  app.use(requestContext(deps.logger));
  // While draining, every response closes its connection, so keep-alive sockets do not hold shutdown open.
  app.use(async (ctx, next) => {
    if (deps.draining?.()) ctx.set("Connection", "close");
    await next();
  });
  if (deps.metrics) app.use(deps.metrics.middleware);
  app.use(securityHeaders({ hsts: secure }));
  app.use(compression());
  app.use(defaultCacheControl());
  app.use(errorPages());
  app.use(requestTimeout(deps.config.requestTimeoutMs ?? 15_000));
  app.use(health.routes());
  // Before any body is read or session loaded: a write another site's page made is refused outright.
  // A mail client's one-click unsubscribe is cross-site by design; its signed URL is its guard.
  // Stripe's webhooks too: they carry their own signature, and no session or CSRF token.
  app.use(sameOriginWrites({ allowPaths: ["/unsubscribe/", STRIPE_WEBHOOK_PATH, ...(deps.config.crossSiteWritePaths ?? [])] }));
  app.use(staticAssets());
  const webhookSecrets = deps.config.stripeWebhookSecrets ?? [];
  if (webhookSecrets.length > 0) {
    // Before the session: a webhook neither has nor gets a session cookie.
    app.use(
      stripeWebhookRoutes({
        secrets: webhookSecrets,
        orders: deps.orders,
        refunds: deps.refunds,
        orderStore: deps.orderStore,
        limiter: deps.limiter,
        logger: deps.logger,
        eventsPerMinute: 1_200,
      }).routes(),
    );
  }
  app.use(sessions({ secret: deps.config.sessionSecret, ttlSeconds: deps.config.sessionTtlSeconds, secure }));
  // Once, in front of every router: no route under /ops, whoever adds it, is served to a non-operator.
  app.use(operatorGate({ operators: deps.operators }));
  for (const r of routers) app.use(r.routes()).use(r.allowedMethods());
  return app;
}
