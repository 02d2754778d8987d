/**
 * `createApp(deps)`: the Koa application; `createWebListener(deps)`: it behind the lean front for
 * progress streams. Neither listens; `main.ts` owns the server.
 */
import type { RequestListener } from "node:http";
import Koa from "koa";
import type { Logger } from "../shared/logger.ts";
import type { ResourceLinks } from "../shared/resource-link.ts";
import type { CampaignsClient } from "./adapters/campaigns-client.ts";
import type { CampaignsReadRepo } from "./adapters/campaigns-read.repo.ts";
import type { CatalogRepo } from "./adapters/catalog.repo.ts";
import type { OrdersReadRepo } from "./adapters/orders-read.repo.ts";
import type { ContentClient } from "./adapters/content-client.ts";
import type { ContentJobsReadRepo } from "./adapters/content-jobs-read.repo.ts";
import type { OrdersClient } from "./adapters/orders-client.ts";
import type { OrderLookupClient } from "./adapters/order-lookup-client.ts";
import type { OperatorSessions } from "./operators/operator-sessions.ts";
import type { OperatorsRepo } from "./operators/operators.repo.ts";
import type { OwnershipStore } from "./adapters/ownership.store.ts";
import type { ProgressHub } from "./progress/progress-hub.ts";
import type { QuietCheck } from "./progress/quiet-check.ts";
import type { RateLimiter } from "./adapters/rate-limiter.ts";
import type { SuppressionsRepo } from "./adapters/suppressions.repo.ts";
import type { StockClient } from "./adapters/stock-client.ts";
import type { OrderRefundsClient } from "./adapters/order-refunds-client.ts";
import type { StockMovementsReadRepo } from "./adapters/stock-movements-read.repo.ts";
import type { OpsLiveRepo } from "./adapters/ops-live.repo.ts";
import type { OpsOverviewRepo } from "./adapters/ops-overview.repo.ts";
import type { OperatorDecisionsReadRepo } from "./adapters/operator-decisions-read.repo.ts";
import type { ProviderAlertsReadRepo } from "./adapters/provider-alerts-read.repo.ts";
import { operatorGate } from "./operators/operator-gate.ts";
import type { OpsFeed } from "./progress/ops-feed.ts";
import type { AppState } from "./app-state.ts";
import type { SseStreams } from "./progress/sse-streams.ts";
import { createStreamFront } from "./progress/stream-front.ts";
import { errorPages } from "./middleware/errors.ts";
import { requestContext } from "./middleware/request-context.ts";
import { sameOriginWrites } from "./middleware/same-origin.ts";
import { securityHeaders } from "./middleware/security-headers.ts";
import { tracing } from "./middleware/tracing.ts";
import { sessions } from "./middleware/session.ts";
import { compression, defaultCacheControl, requestTimeout } from "./middleware/http-hygiene.ts";
import type { WebMetrics } from "./metrics.ts";
import { staticAssets } from "./static-assets.ts";
import { campaignEventRoutes, campaignStream } from "./routes/campaign-events.routes.ts";
import { campaignRoutes } from "./routes/campaigns.routes.ts";
import { catalogRoutes } from "./routes/catalog.routes.ts";
import { contentEventRoutes, contentStream } from "./routes/content-events.routes.ts";
import { contentRoutes } from "./routes/content.routes.ts";
import { healthRoutes, type ReadinessCheck } from "./routes/health.routes.ts";
import { operatorSignInRoutes } from "./operators/operator-sign-in.routes.ts";
import { opsRoutes } from "./routes/ops.routes.ts";
import { opsDecisionsRoutes } from "./routes/ops-decisions.routes.ts";
import { opsLiveRoutes } from "./routes/ops-live.routes.ts";
import { opsStockRoutes } from "./routes/ops-stock.routes.ts";
import { opsOrderActionRoutes } from "./routes/ops-order-actions.routes.ts";
import { orderEventRoutes, orderStream } from "./routes/order-events.routes.ts";
import { orderLookupRoutes } from "./routes/order-lookup.routes.ts";
import { orderPageRoutes } from "./routes/order-page.routes.ts";
import { orderRoutes } from "./routes/orders.routes.ts";
import { unsubscribeRoutes } from "./routes/unsubscribe.routes.ts";
import { STRIPE_WEBHOOK_PATH, stripeWebhookRoutes } from "./routes/stripe-webhooks.routes.ts";

export interface AppDeps {
  logger: Logger;
  catalog: CatalogRepo;
  /** The order rows (pages, "My orders", the ops list, snapshots when Valkey is behind). */
  orderStore: OrdersReadRepo;
  orders: OrdersClient;
  ownership: OwnershipStore;
  hub: ProgressHub;
  /** Streams that hear nothing a while read their stored state (progress/quiet-check.ts); none: no check. */
  quietCheck?: QuietCheck | undefined;
  campaigns: CampaignsClient;
  campaignStore: CampaignsReadRepo;
  /** Addresses that unsubscribed from campaigns (the one-click links in campaign messages). */
  suppressions: SuppressionsRepo;
  content: ContentClient;
  contentJobs: ContentJobsReadRepo;
  limiter: RateLimiter;
  /** Who is signed in to /ops (Valkey, checked against the accounts): the operator gate's answer. */
  operators: OperatorSessions;
  /** Operators' stock movements, through the worker's Stock service. */
  stock: StockClient;
  stockMovements: StockMovementsReadRepo;
  /** The rows operators' live views re-render, and the overview's numbers. */
  opsLive: OpsLiveRepo;
  opsOverview: OpsOverviewRepo;
  /** The process's operator live view: the order feed turned into fragments for every operator stream. */
  opsFeed: OpsFeed;
  /** Operators' refunds of fulfilled orders, through the OrderRefund object. */
  refunds: OrderRefundsClient;
  /** Operator accounts and their recorded decisions (PostgreSQL). */
  accounts: OperatorsRepo;
  /** What operators did, for the decisions page. */
  decisions: OperatorDecisionsReadRepo;
  /** A payment provider refusing our key lately, for the banner on /ops and an order's actions page; absent = none. */
  providerAlerts?: ProviderAlertsReadRepo;
  /** Verifies the signed links in emails (and signs share links); the worker signs with the same keys. */
  links: ResourceLinks;
  /** Sends "email me my orders" requests to the worker. */
  orderLookup: OrderLookupClient;
  readiness: ReadinessCheck;
  /** The process's open SSE streams (limits, keep-alive, max duration, buffer limit); `closeAll()` on SIGTERM. */
  sseStreams?: SseStreams;
  /** RED metrics per route template; absent in tests that do not read them. */
  metrics?: WebMetrics;
  /** True once SIGTERM arrived: readiness fails first, so load balancers stop sending traffic. */
  draining?: () => boolean;
  config: {
    profile: "dev" | "prod";
    sessionSecret: string;
    sessionTtlSeconds: number;
    restateUiUrl: string | undefined;
    /** The dev mail catcher's UI, linked from campaign pages in dev only. */
    mailUiUrl: string | undefined;
    campaignMaxRecipients: number;
    sseKeepAliveMs: number;
    readyCacheMs: number;
    ordersPerMinute: number;
    loginsPerMinute: number;
    lookupsPerMinute: number;
    lookupsPerAddressPerHour: number;
    approvalThresholdCents: number;
    /** The customer pays on the provider's page (Stripe Checkout): the form asks for no payment method. */
    hostedPayment?: boolean;
    /** Endpoint secrets webhooks are signed with (several while one is rolled); none = no webhook route. */
    stripeWebhookSecrets?: readonly string[];
    requestTimeoutMs?: number;
    /** How often open operator streams are re-checked against the operator gate (default 2 s). */
    operatorRecheckMs?: number;
    /** POST paths other sites may call by design (a mail client's one-click unsubscribe); they carry their own signed token. */
    crossSiteWritePaths?: readonly string[];
  };
}

/** The three kinds of progress stream, and what they share: one definition for the Koa routes and the lean front. */
function progressStreams(deps: AppDeps) {
  const restateUiUrl = deps.config.restateUiUrl;
  return {
    deps: { hub: deps.hub, sseStreams: deps.sseStreams, keepAliveMs: deps.config.sseKeepAliveMs, quiet: deps.quietCheck },
    order: orderStream({ ...deps, restateUiUrl }),
    content: contentStream({ ...deps, restateUiUrl }),
    campaign: campaignStream({ ...deps, restateUiUrl }),
  };
}

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

export function createApp(deps: AppDeps): Koa<AppState> {
  // Behind one reverse proxy in prod: trust only the address it appends to X-Forwarded-For, never
  // the entries a client wrote itself (rate limits are keyed on ctx.ip).
  const app = new Koa<AppState>({ keys: [deps.config.sessionSecret], proxy: deps.config.profile === "prod", maxIpsCount: 1 });
  app.silent = true; // errors are logged by the error middleware, with the request id
  const health = healthRoutes({ check: deps.readiness, cacheMs: deps.config.readyCacheMs, draining: deps.draining });
  const secure = deps.config.profile === "prod";
  const streams = progressStreams(deps);
  const routes = [
    catalogRoutes(deps),
    contentRoutes({
      ...deps,
      restateUiUrl: deps.config.restateUiUrl,
      formLimitBytes: 16 * 1024,
      jobsPerMinute: deps.config.ordersPerMinute,
    }),
    contentEventRoutes({ ...deps, ...streams.deps, contentStream: streams.content }),
    orderRoutes({
      ...deps,
      ordersPerMinute: deps.config.ordersPerMinute,
      approvalThresholdCents: deps.config.approvalThresholdCents,
      formLimitBytes: 16 * 1024,
      hostedPayment: deps.config.hostedPayment,
    }),
    orderLookupRoutes({
      ...deps,
      lookupsPerMinute: deps.config.lookupsPerMinute,
      lookupsPerAddressPerHour: deps.config.lookupsPerAddressPerHour,
    }),
    orderPageRoutes({ ...deps, restateUiUrl: deps.config.restateUiUrl }),
    // Before opsRoutes: its catch-all order action route (/ops/orders/:id/:action) would answer these paths with a 404.
    opsStockRoutes(deps),
    opsOrderActionRoutes(deps),
    opsDecisionsRoutes(deps),
    opsLiveRoutes({
      ...deps,
      keepAliveMs: deps.config.sseKeepAliveMs,
      restateUiUrl: deps.config.restateUiUrl,
      operatorRecheckMs: deps.config.operatorRecheckMs,
    }),
    operatorSignInRoutes({ ...deps, loginsPerMinute: deps.config.loginsPerMinute }),
    opsRoutes({ ...deps, restateUiUrl: deps.config.restateUiUrl }),
    orderEventRoutes({ ...deps, ...streams.deps, orderStream: streams.order }),
    campaignRoutes({
      ...deps,
      maxRecipients: deps.config.campaignMaxRecipients,
      campaignsPerMinute: 10,
      restateUiUrl: deps.config.restateUiUrl,
      mailUiUrl: deps.config.profile === "dev" ? deps.config.mailUiUrl : undefined,
    }),
    campaignEventRoutes({ ...deps, ...streams.deps, campaignStream: streams.campaign }),
    unsubscribeRoutes(deps),
  ];

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
  app.use(operatorGate(deps));
  for (const r of routes) app.use(r.routes()).use(r.allowedMethods());
  return app;
}
