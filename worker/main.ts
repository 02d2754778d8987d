/** The worker process: wires adapters, serves the Restate endpoint over HTTP/2, owns shutdown. */
import http2 from "node:http2";
import * as restate from "@restatedev/restate-sdk";
import { connectValkey } from "../shared/valkey-client.ts";
import pg from "pg";
import { loadConfigOrExit } from "../shared/config.ts";
import { workerConfigSchema } from "../shared/worker-config.schema.ts";
import { createLogger } from "../shared/logger.ts";
import { createResourceLinks } from "../shared/resource-link.ts";
import { restateLogger } from "./restate-logger.ts";
import { createStockRepo } from "./adapters/stock.repo.ts";
import { createLocalPaymentProvider } from "./adapters/local-payments.ts";
import { createOrdersRepo } from "./adapters/orders.repo.ts";
import { createStripePaymentProvider } from "./adapters/stripe-payments.ts";
import { createProviderAlertsRepo } from "./adapters/provider-alerts.repo.ts";
import { paymentRetry } from "./errors.ts";
import { BANK_PAYMENT_LIMIT_MS } from "./hosted-payment.ts";
import { createProgressPublisher } from "./adapters/progress-publisher.ts";
import { createCampaignsRepo } from "./adapters/campaigns.repo.ts";
import { createSmtpMailer, createSmtpTransport } from "./adapters/smtp-mailer.ts";
import { createContentJobsRepo } from "./adapters/content-jobs.repo.ts";
import { priceFor } from "./adapters/llm-prices.ts";
import { createLlmProvider } from "./adapters/llm-factory.ts";
import { createServices } from "./services.ts";
import { createWorkerMetrics, instrumentMailer, instrumentProgress, instrumentContentJobs, metricsHooks } from "./metrics.ts";
import { startOpsServer } from "../shared/metrics-server.ts";
import { startTelemetry } from "../shared/telemetry.ts";
import { tracingHooks } from "./tracing.ts";
import { registerDeployment } from "./deployment-registration.ts";

const config = loadConfigOrExit(workerConfigSchema);
const logger = createLogger({ name: "worker", level: config.LOG_LEVEL, format: config.LOG_FORMAT });
const telemetry = await startTelemetry({
  serviceName: config.OTEL_SERVICE_NAME ?? "quayside-worker",
  endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
});

const pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 10, application_name: "quayside-worker" });
pool.on("error", (err) => logger.warn({ err }, "idle PostgreSQL client failed"));
// A client the pool already let go of (during shutdown) must not crash the process either.
pool.on("connect", (client) => client.on("error", (err) => logger.debug({ err }, "PostgreSQL connection closed")));
// Publishing must never hang a step: no offline queue, short timeouts, quick reconnects. On a
// cluster, VALKEY_CLUSTER_NODES, the same limits hold for every node.
const redis = connectValkey(config, {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  commandTimeout: 1_000,
  connectTimeout: 1_000,
  retryStrategy: (times) => Math.min(times * 200, 2_000),
});
redis.on("error", (err) => logger.debug({ err }, "Valkey connection error"));
const transport = createSmtpTransport({
  host: config.SMTP_HOST,
  port: config.SMTP_PORT,
  tls: config.SMTP_TLS,
  user: config.SMTP_USER,
  password: config.SMTP_PASSWORD,
  poolSize: config.SMTP_POOL_SIZE,
});
// Only a warning: mail waits in the retry queue until the server is reachable.
transport.verify().then(
  () => logger.info({ host: config.SMTP_HOST, port: config.SMTP_PORT, tls: config.SMTP_TLS }, "SMTP server reachable"),
  (err: unknown) => logger.warn({ err, host: config.SMTP_HOST, port: config.SMTP_PORT }, "SMTP server not reachable yet"),
);

const campaigns = createCampaignsRepo(pool);
const metrics = createWorkerMetrics();
const llm = createLlmProvider(config);
logger.info({ provider: llm.name, model: llm.model }, "content generation provider");
const providerAlerts = createProviderAlertsRepo(pool);
// The config schema requires STRIPE_SECRET_KEY with stripe, and refuses local in prod unless allowed.
const payments =
  config.PAYMENT_PROVIDER === "stripe" && config.STRIPE_SECRET_KEY
    ? createStripePaymentProvider({
        secretKey: config.STRIPE_SECRET_KEY,
        apiBase: config.STRIPE_API_BASE,
        timeoutMs: config.STRIPE_TIMEOUT_MS,
        // A refused key fails every order until someone fixes it: a metric to alert on, and a
        // banner on the operator pages. Neither may hold up or fail the payment step.
        onAuthFailure: (f) => {
          metrics.paymentAuthFailures.inc({ provider: "stripe", status: String(f.status) });
          const why = f.status === 401 ? "refused our API key" : "refused a request our API key has no permission for";
          logger.error({ status: f.status, operation: f.operation }, `Stripe ${why}: check STRIPE_SECRET_KEY`);
          providerAlerts
            .report({ provider: "stripe", kind: "auth", status: f.status, message: f.message })
            .catch((err: unknown) => logger.warn({ err }, "could not record the Stripe key alert for operators"));
        },
      })
    : createLocalPaymentProvider(pool, { latencyMs: config.PAYMENT_LATENCY_MS, faultRate: config.PAYMENT_FAULT_RATE });
logger.info({ provider: payments.name, apiBase: config.STRIPE_API_BASE }, "payment provider");
const services = createServices({
  orders: createOrdersRepo(pool),
  stock: createStockRepo(pool),
  payments,
  // Links in emails are signed as each message is rendered; the web checks them with the same keys.
  mailer: instrumentMailer(
    createSmtpMailer(
      pool,
      transport,
      config.MAIL_FROM,
      createResourceLinks({ keys: config.LINK_SIGNING_KEYS, ttlSeconds: config.LINK_TTL_SECONDS }),
      campaigns.content,
    ),
    metrics,
  ),
  campaigns,
  emailPolicy: {
    retry: {
      initialMs: config.EMAIL_RETRY_INITIAL_MS,
      maxMs: config.EMAIL_RETRY_MAX_MS,
      giveUpAfterMs: config.EMAIL_GIVE_UP_AFTER_MS,
    },
    maxRecipients: config.CAMPAIGN_MAX_RECIPIENTS,
    sendsPerSecond: config.CAMPAIGN_SENDS_PER_SECOND,
  },
  progress: instrumentProgress(
    createProgressPublisher(redis, logger, {
      maxLen: config.PROGRESS_STREAM_MAXLEN,
      ttlSeconds: config.PROGRESS_STREAM_TTL_SECONDS,
    }),
    metrics,
  ),
  publicWebUrl: config.PUBLIC_WEB_URL,
  content: {
    jobs: instrumentContentJobs(createContentJobsRepo(pool), metrics, llm.name),
    llm,
    price: priceFor(llm.model, {
      inputCentsPer1k: config.LLM_PRICE_INPUT_CENTS_PER_1K,
      outputCentsPer1k: config.LLM_PRICE_OUTPUT_CENTS_PER_1K,
    }),
    maxAttempts: config.LLM_MAX_ATTEMPTS,
    quota: {
      requestsPerMinute: config.LLM_REQUESTS_PER_MINUTE,
      tokensPerMinute: config.LLM_TOKENS_PER_MINUTE,
      burstSeconds: config.LLM_BURST_SECONDS,
    },
  },
  orderPolicy: {
    approvalThresholdCents: config.APPROVAL_THRESHOLD_CENTS,
    approvalTimeoutMs: config.APPROVAL_TIMEOUT_MS,
    shippingDelayMs: config.SHIPPING_DELAY_MS,
    refundCheckMs: config.REFUND_CHECK_INTERVAL_MS,
    paymentPolicy: {
      checkIntervalMs: config.PAYMENT_CHECK_INTERVAL_MS,
      pageLifetimeMs: config.CHECKOUT_EXPIRY_MINUTES * 60_000,
      processingLimitMs: BANK_PAYMENT_LIMIT_MS,
      retry: paymentRetry(config.PAYMENT_RETRY_LIMIT),
    },
  },
});

// Request identity: only requests restate-server signed with a matching private key are served
// (the SDK answers 401 to the rest). Prod refuses to start without keys; dev may run without.
const identityKeys = config.RESTATE_IDENTITY_KEYS ?? [];
if (identityKeys.length === 0)
  logger.warn("RESTATE_IDENTITY_KEYS is not set: anyone who reaches the worker's port can run its handlers");
const server = http2.createServer(
  restate.createEndpointHandler({
    services,
    ...(identityKeys.length > 0 ? { identityKeys } : {}),
    logger: restateLogger(logger),
    defaultServiceOptions: { hooks: [metricsHooks(metrics), ...(config.OTEL_EXPORTER_OTLP_ENDPOINT ? [tracingHooks()] : [])] },
  }),
);
const sessions = new Set<http2.ServerHttp2Session>();
server.on("session", (session) => {
  sessions.add(session);
  session.once("close", () => sessions.delete(session));
});
let stopping = false;
const opsServer =
  config.WORKER_METRICS_PORT > 0
    ? await startOpsServer({
        host: config.OPS_HOST,
        port: config.WORKER_METRICS_PORT,
        registry: metrics.registry,
        ready: () => !stopping,
      })
    : null;

server.listen(config.WORKER_PORT, config.WORKER_HOST, () => {
  logger.info(
    {
      port: config.WORKER_PORT,
      host: config.WORKER_HOST,
      opsPort: config.WORKER_METRICS_PORT,
      requestIdentity: identityKeys.length > 0 ? identityKeys : "off",
    },
    "worker endpoint listening",
  );
  if (!config.WORKER_SELF_REGISTER) return;
  registerDeployment(
    { adminUrl: config.RESTATE_ADMIN_URL, endpointUrl: config.WORKER_PUBLIC_URL, force: config.WORKER_REGISTER_FORCE },
    logger,
  ).then(
    (d) => logger.info({ deployment: d.id, services: d.services }, "registered with Restate"),
    (err: unknown) => {
      logger.fatal({ err }, "could not register with Restate");
      process.exitCode = 1;
      void shutdown("registration failed");
    },
  );
});

/**
 * SIGTERM: readiness fails, no new connections, each HTTP/2 connection gets GOAWAY (Restate opens
 * no new invocation streams on it), in-flight invocations get until the drain deadline; whatever
 * is still running then is cut off and Restate retries it (on another replica, or on us again).
 */
async function shutdown(reason: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  const deadline = Date.now() + config.SHUTDOWN_DRAIN_MS;
  logger.info({ reason, drainMs: config.SHUTDOWN_DRAIN_MS }, "worker shutting down");
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  for (const s of sessions) s.close();
  await Promise.race([closed, new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())).unref())]);
  for (const s of sessions) s.destroy();
  transport.close();
  await Promise.allSettled([
    pool.end(),
    redis.quit(),
    telemetry.shutdown(),
    new Promise((r) => (opsServer ? opsServer.close(r) : r(null))),
  ]);
  logger.info("worker stopped");
}
process.once("SIGTERM", () => void shutdown("SIGTERM"));
process.once("SIGINT", () => void shutdown("SIGINT"));
