/**
 * What the web app is built from: every adapter and setting, wired once in wiring.ts. Routers never
 * see this whole; app-routers.ts hands each one only the part it uses.
 */
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
import type { OpsFeed } from "./progress/ops-feed.ts";
import type { SseStreams } from "./progress/sse-streams.ts";
import type { WebMetrics } from "./metrics.ts";
import type { ReadinessCheck } from "./routes/health.routes.ts";

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
