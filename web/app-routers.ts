/**
 * Every router the app serves, each built from exactly the part of `AppDeps` it uses, so a route's
 * needs read where it is built. No route relies on another router being mounted before it (paths
 * are explicit, and an `:id` answers only ids: id-route.ts), so the order here is for reading only.
 */
import type Router from "@koa/router";
import type { AppDeps } from "./app-deps.ts";
import type { AppState } from "./app-state.ts";
import { operatorSignInRoutes } from "./operators/operator-sign-in.routes.ts";
import { campaignEventRoutes, campaignStream } from "./routes/campaign-events.routes.ts";
import { campaignRoutes } from "./routes/campaigns.routes.ts";
import { catalogRoutes } from "./routes/catalog.routes.ts";
import { contentEventRoutes, contentStream } from "./routes/content-events.routes.ts";
import { contentRoutes } from "./routes/content.routes.ts";
import { opsDecisionsRoutes } from "./routes/ops-decisions.routes.ts";
import { opsLiveRoutes } from "./routes/ops-live.routes.ts";
import { opsOrderActionRoutes } from "./routes/ops-order-actions.routes.ts";
import { opsStockRoutes } from "./routes/ops-stock.routes.ts";
import { opsRoutes } from "./routes/ops.routes.ts";
import { orderEventRoutes, orderStream } from "./routes/order-events.routes.ts";
import { orderLookupRoutes } from "./routes/order-lookup.routes.ts";
import { orderPageRoutes } from "./routes/order-page.routes.ts";
import { orderRoutes } from "./routes/orders.routes.ts";
import { unsubscribeRoutes } from "./routes/unsubscribe.routes.ts";

const FORM_LIMIT_BYTES = 16 * 1024;

/** The three kinds of progress stream, and what they share: one definition for the Koa routes and the lean front. */
export function progressStreams(deps: AppDeps) {
  const { restateUiUrl } = deps.config;
  return {
    deps: { hub: deps.hub, sseStreams: deps.sseStreams, keepAliveMs: deps.config.sseKeepAliveMs, quiet: deps.quietCheck },
    order: orderStream({ orderStore: deps.orderStore, orders: deps.orders, hub: deps.hub, restateUiUrl }),
    content: contentStream({ content: deps.content, contentJobs: deps.contentJobs, hub: deps.hub, restateUiUrl }),
    campaign: campaignStream({ campaigns: deps.campaigns, campaignStore: deps.campaignStore, hub: deps.hub, restateUiUrl }),
  };
}

export function appRouters(deps: AppDeps): Router<AppState>[] {
  const { config, ownership, limiter, links, orders, orderStore, operators, accounts, providerAlerts } = deps;
  const { restateUiUrl } = config;
  const streams = progressStreams(deps);
  return [
    catalogRoutes({ catalog: deps.catalog }),
    orderRoutes({
      catalog: deps.catalog,
      orders,
      ownership,
      limiter,
      ordersPerMinute: config.ordersPerMinute,
      approvalThresholdCents: config.approvalThresholdCents,
      formLimitBytes: FORM_LIMIT_BYTES,
      hostedPayment: config.hostedPayment,
    }),
    orderLookupRoutes({
      orderLookup: deps.orderLookup,
      limiter,
      lookupsPerMinute: config.lookupsPerMinute,
      lookupsPerAddressPerHour: config.lookupsPerAddressPerHour,
    }),
    orderPageRoutes({ orderStore, orders, ownership, hub: deps.hub, operators, links, restateUiUrl }),
    orderEventRoutes({ ...streams.deps, ownership, operators, orderStream: streams.order }),
    contentRoutes({
      content: deps.content,
      contentJobs: deps.contentJobs,
      hub: deps.hub,
      ownership,
      links,
      restateUiUrl,
      formLimitBytes: FORM_LIMIT_BYTES,
      limiter,
      jobsPerMinute: config.ordersPerMinute,
    }),
    contentEventRoutes({ ...streams.deps, ownership, contentStream: streams.content }),
    campaignRoutes({
      campaigns: deps.campaigns,
      campaignStore: deps.campaignStore,
      hub: deps.hub,
      ownership,
      links,
      limiter,
      maxRecipients: config.campaignMaxRecipients,
      campaignsPerMinute: 10,
      restateUiUrl,
      mailUiUrl: config.profile === "dev" ? config.mailUiUrl : undefined,
    }),
    campaignEventRoutes({ ...streams.deps, ownership, campaignStream: streams.campaign }),
    unsubscribeRoutes({ links, suppressions: deps.suppressions }),
    operatorSignInRoutes({ accounts, operators, ownership, limiter, loginsPerMinute: config.loginsPerMinute }),
    opsRoutes({ orderStore, orders, accounts, restateUiUrl, providerAlerts }),
    opsOrderActionRoutes({ orderStore, orders, refunds: deps.refunds, accounts, providerAlerts }),
    opsStockRoutes({ catalog: deps.catalog, stock: deps.stock, stockMovements: deps.stockMovements }),
    opsDecisionsRoutes({ decisions: deps.decisions }),
    opsLiveRoutes({
      operators,
      opsFeed: deps.opsFeed,
      opsLive: deps.opsLive,
      opsOverview: deps.opsOverview,
      sseStreams: deps.sseStreams,
      keepAliveMs: config.sseKeepAliveMs,
      restateUiUrl,
      logger: deps.logger,
      operatorRecheckMs: config.operatorRecheckMs,
    }),
  ];
}
