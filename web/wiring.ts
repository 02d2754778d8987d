/** Builds the web's adapters from config: used by `main.ts` and by tests that run the app in-process. */
import { Redis } from "ioredis";
import pg from "pg";
import { Registry } from "prom-client";
import type { WebConfig } from "../shared/web-config.schema.ts";
import type { Logger } from "../shared/logger.ts";
import { connectValkey, isCluster } from "../shared/valkey-client.ts";
import { createResourceLinks } from "../shared/resource-link.ts";
import { createCampaignsClient } from "./adapters/campaigns-client.ts";
import { createCampaignsReadRepo } from "./adapters/campaigns-read.repo.ts";
import { createSuppressionsRepo } from "./adapters/suppressions.repo.ts";
import { createCatalogRepo } from "./adapters/catalog.repo.ts";
import { createOrdersReadRepo } from "./adapters/orders-read.repo.ts";
import { createContentClient } from "./adapters/content-client.ts";
import { createContentJobsReadRepo } from "./adapters/content-jobs-read.repo.ts";
import { createOrdersClient } from "./adapters/orders-client.ts";
import { createOrderLookupClient } from "./adapters/order-lookup-client.ts";
import { createOperatorSessions } from "./operators/operator-sessions.ts";
import { createStockClient } from "./adapters/stock-client.ts";
import { createOrderRefundsClient } from "./adapters/order-refunds-client.ts";
import { createStockMovementsReadRepo } from "./adapters/stock-movements-read.repo.ts";
import { createOperatorDecisionsReadRepo } from "./adapters/operator-decisions-read.repo.ts";
import { createOperatorsRepo } from "./operators/operators.repo.ts";
import { createOpsLiveRepo } from "./adapters/ops-live.repo.ts";
import { createOpsOverviewRepo } from "./adapters/ops-overview.repo.ts";
import { createProviderAlertsReadRepo } from "./adapters/provider-alerts-read.repo.ts";
import { createOpsFeed } from "./progress/ops-feed.ts";
import { OPS_PAGE_SIZE } from "./routes/ops.routes.ts";
import { createOwnershipStore } from "./adapters/ownership.store.ts";
import { createProgressHub } from "./progress/progress-hub.ts";
import { createQuietCheck } from "./progress/quiet-check.ts";
import { createRateLimiter } from "./adapters/rate-limiter.ts";
import { createSseMetrics } from "./progress/sse-metrics.ts";
import { createSseStreams } from "./progress/sse-streams.ts";
import type { AppDeps } from "./app-deps.ts";

export interface WebWiring {
  deps: AppDeps & { sseRegistry: Registry };
  /** SIGTERM: refuses new SSE streams and ends the open ones with a `retry:` hint; returns how many. */
  endStreams(): number;
  close(): Promise<void>;
}

export function wireWeb(config: WebConfig, logger: Logger): WebWiring {
  const pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 10, application_name: "quayside-web" });
  pool.on("error", (err) => logger.warn({ err }, "idle PostgreSQL client failed"));
  // A client the pool already let go of (during shutdown) must not crash the process either.
  pool.on("connect", (client) => client.on("error", (err) => logger.debug({ err }, "PostgreSQL connection closed")));
  const redisOptions = { connectTimeout: 2_000, maxRetriesPerRequest: 1, retryStrategy: (n: number) => Math.min(n * 200, 2_000) };
  // Auto-pipelining: commands that concurrent requests issue in the same tick go out in one write
  // (under form ingest, one socket write per command was a measurable share of the web's CPU).
  const commands = connectValkey(config, { ...redisOptions, commandTimeout: 2_000, enableAutoPipelining: true });
  // One subscriber connection for the whole process, shared by every SSE stream. A cluster client
  // subscribes on connections of its own (one per primary for shard channels, one for the order
  // feed), so there the command client is the subscriber too.
  const subscriber = isCluster(commands) ? commands : connectValkey(config, redisOptions);
  for (const [name, conn] of [
    ["commands", commands],
    ["subscriber", subscriber],
  ] as const) {
    if (name === "subscriber" && conn === commands) continue;
    conn.on("error", (err) => logger.debug({ err, connection: name }, "Valkey connection error"));
  }

  // SSE metrics on their own registry for now, to be merged into the process registry (Registry.merge).
  const sseRegistry = new Registry();
  const sseStreams = createSseStreams({
    keepAliveMs: config.SSE_KEEPALIVE_MS,
    maxDurationMs: config.SSE_MAX_DURATION_MS,
    maxBufferBytes: config.SSE_MAX_BUFFER_BYTES,
    retryMs: config.SSE_RETRY_MS,
    maxPerSession: config.SSE_MAX_PER_SESSION,
    maxPerIp: config.SSE_MAX_PER_IP,
    metrics: createSseMetrics(sseRegistry),
  });
  // Bench-only switch (SSE_NAIVE_SUBSCRIBER): one subscriber connection per stream, to measure against.
  const naiveSubscriber = config.SSE_NAIVE_SUBSCRIBER ? () => new Redis(config.VALKEY_URL, redisOptions) : undefined;

  async function readiness(): Promise<Record<string, boolean>> {
    const probe = async (fn: () => Promise<unknown>) =>
      fn().then(
        () => true,
        () => false,
      );
    const [postgres, valkey, restate] = await Promise.all([
      probe(() => pool.query("SELECT 1")),
      probe(() => commands.ping()),
      probe(async () => {
        const res = await fetch(new URL("/restate/health", config.RESTATE_INGRESS_URL), { signal: AbortSignal.timeout(1_000) });
        await res.body?.cancel();
        if (!res.ok) throw new Error(String(res.status));
      }),
    ]);
    return { postgres, valkey, restate };
  }

  const accounts = createOperatorsRepo(pool);
  const operators = createOperatorSessions(commands, accounts);
  const hub = createProgressHub({ subscriber, commands, logger, naiveSubscriber });
  const quietCheck =
    config.SSE_QUIET_CHECK_MS > 0
      ? createQuietCheck({ quietMs: config.SSE_QUIET_CHECK_MS, logger, metrics: sseStreams.metrics })
      : undefined;
  const opsLive = createOpsLiveRepo(pool);
  const opsOverview = createOpsOverviewRepo(pool);

  return {
    deps: {
      logger,
      catalog: createCatalogRepo(pool),
      orderStore: createOrdersReadRepo(pool),
      orders: createOrdersClient({ ingressUrl: config.RESTATE_INGRESS_URL }),
      ownership: createOwnershipStore(commands, config.SESSION_TTL_SECONDS),
      hub,
      quietCheck,
      sseStreams,
      sseRegistry,
      campaigns: createCampaignsClient({ ingressUrl: config.RESTATE_INGRESS_URL }),
      campaignStore: createCampaignsReadRepo(pool),
      suppressions: createSuppressionsRepo(pool),
      content: createContentClient({ ingressUrl: config.RESTATE_INGRESS_URL }),
      contentJobs: createContentJobsReadRepo(pool),
      limiter: createRateLimiter(commands),
      operators,
      accounts,
      stock: createStockClient({ ingressUrl: config.RESTATE_INGRESS_URL }),
      stockMovements: createStockMovementsReadRepo(pool),
      decisions: createOperatorDecisionsReadRepo(pool),
      providerAlerts: createProviderAlertsReadRepo(pool),
      opsLive,
      opsOverview,
      opsFeed: createOpsFeed({
        hub,
        newestLimit: OPS_PAGE_SIZE,
        live: opsLive,
        overview: opsOverview,
        logger,
        restateUiUrl: config.RESTATE_UI_URL,
        retryMs: config.SSE_RETRY_MS,
        checkEveryMs: config.OPS_FEED_CHECK_MS,
      }),
      refunds: createOrderRefundsClient({ ingressUrl: config.RESTATE_INGRESS_URL }),
      links: createResourceLinks({ keys: config.LINK_SIGNING_KEYS, ttlSeconds: config.LINK_TTL_SECONDS }),
      orderLookup: createOrderLookupClient({ ingressUrl: config.RESTATE_INGRESS_URL }),
      readiness,
      config: {
        profile: config.APP_PROFILE,
        sessionSecret: config.SESSION_SECRET,
        sessionTtlSeconds: config.SESSION_TTL_SECONDS,
        restateUiUrl: config.RESTATE_UI_URL,
        mailUiUrl: config.MAIL_UI_URL,
        campaignMaxRecipients: config.CAMPAIGN_MAX_RECIPIENTS,
        sseKeepAliveMs: config.SSE_KEEPALIVE_MS,
        readyCacheMs: config.READY_CACHE_MS,
        requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
        ordersPerMinute: config.ORDER_RATE_LIMIT_PER_MINUTE,
        loginsPerMinute: config.LOGIN_RATE_LIMIT_PER_MINUTE,
        lookupsPerMinute: config.ORDER_LOOKUP_RATE_LIMIT_PER_MINUTE,
        lookupsPerAddressPerHour: config.ORDER_LOOKUP_PER_ADDRESS_PER_HOUR,
        approvalThresholdCents: config.APPROVAL_THRESHOLD_CENTS,
        hostedPayment: config.PAYMENT_PROVIDER === "stripe",
        stripeWebhookSecrets: config.STRIPE_WEBHOOK_SECRETS ?? [],
      },
    },
    endStreams: () => sseStreams.closeAll(),
    async close() {
      hub.close();
      await Promise.allSettled([pool.end(), commands.quit(), subscriber === commands ? null : subscriber.quit()]);
    },
  };
}
