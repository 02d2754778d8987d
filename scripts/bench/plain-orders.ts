/**
 * The "durability tax" baseline for `npm run bench`: the order pipeline's work without durability.
 * A plain Node process calls the worker's own adapters in the order OrderFulfilment does: the
 * order stored with its stock in one statement, the charge and the confirmed status, the first five
 * progress events in one round trip, the confirmation email beside the shipping, the ship
 * statement, the last two events, the shipped email. The same statements and round trips as the
 * workflow's steps, with no Restate: no journal, no retries, no ingress, no web. The gap between
 * this and the end-to-end orders figure is what durable execution and the web add per order.
 * The approval step is skipped and shipping does not wait, as in the bench's worker settings.
 *
 * Env: PLAIN_DATABASE_URL, PLAIN_VALKEY_URL, PLAIN_SMTP_HOST, PLAIN_SMTP_PORT, PLAIN_SKUS (comma
 * separated), PLAIN_CONCURRENCY, PLAIN_DURATION_MS. Everything else (mail sender, stream bounds,
 * SMTP pool) is the worker's default. Prints one JSON line, a `LoadResult` with this process's CPU ms (`cpuMs`), on stdout. A failed
 * order counts in its `errors`; a failed start, or a run where nothing completes, goes to stderr
 * with exit status 1.
 */
import { Redis } from "ioredis";
import pg from "pg";
import { v7 as uuidv7 } from "uuid";
import { z } from "zod";
import { loadConfig, loadConfigOrExit } from "../../shared/config.ts";
import { workerConfigSchema } from "../../shared/worker-config.schema.ts";
import { createLogger } from "../../shared/logger.ts";
import { createResourceLinks } from "../../shared/resource-link.ts";
import { orderSteps, type OrderStepDraft } from "../../shared/order-steps.ts";
import { createLocalPaymentProvider } from "../../worker/adapters/local-payments.ts";
import { createOrdersRepo } from "../../worker/adapters/orders.repo.ts";
import { createProgressPublisher } from "../../worker/adapters/progress-publisher.ts";
import { createCampaignsRepo } from "../../worker/adapters/campaigns.repo.ts";
import { createSmtpMailer, createSmtpTransport } from "../../worker/adapters/smtp-mailer.ts";
import { closedLoop } from "./stats.ts";

const env = loadConfigOrExit(
  z.object({
    PLAIN_DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
    PLAIN_VALKEY_URL: z.url({ protocol: /^rediss?$/ }),
    PLAIN_SMTP_HOST: z.string().min(1),
    PLAIN_SMTP_PORT: z.coerce.number().int().min(1).max(65535),
    PLAIN_SKUS: z
      .string()
      .transform((s) =>
        s
          .split(",")
          .map((x) => x.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.string()).min(1)),
    PLAIN_CONCURRENCY: z.coerce.number().int().min(1),
    PLAIN_DURATION_MS: z.coerce.number().int().min(1),
  }),
);
const worker = loadConfig(workerConfigSchema, {});
const logger = createLogger({ name: "plain-orders", level: "warn", format: "json", destination: process.stderr });

const pool = new pg.Pool({ connectionString: env.PLAIN_DATABASE_URL, max: 10, application_name: "bench-plain-orders" });
pool.on("error", (err) => logger.warn({ err }, "idle PostgreSQL client failed"));
const redis = new Redis(env.PLAIN_VALKEY_URL, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
redis.on("error", (err) => logger.warn({ err }, "Valkey connection error"));
const transport = createSmtpTransport({
  host: env.PLAIN_SMTP_HOST,
  port: env.PLAIN_SMTP_PORT,
  tls: "none",
  poolSize: worker.SMTP_POOL_SIZE,
});

const orders = createOrdersRepo(pool);
const payments = createLocalPaymentProvider(pool);
const mailer = createSmtpMailer(
  pool,
  transport,
  worker.MAIL_FROM,
  createResourceLinks({ keys: worker.LINK_SIGNING_KEYS, ttlSeconds: worker.LINK_TTL_SECONDS }),
  createCampaignsRepo(pool).content,
);
const progress = createProgressPublisher(redis, logger, {
  maxLen: worker.PROGRESS_STREAM_MAXLEN,
  ttlSeconds: worker.PROGRESS_STREAM_TTL_SECONDS,
});

let next = 0;

/** One order, start to fulfilled; resolves with its latency in ms. */
async function placeOrder(): Promise<number> {
  const started = performance.now();
  const orderId = uuidv7();
  const sku = env.PLAIN_SKUS[next++ % env.PLAIN_SKUS.length]!;
  const orderUrl = new URL(`/orders/${orderId}`, worker.PUBLIC_WEB_URL).toString();
  let seq = 0;
  // The workflow publishes each step's events in one round trip: so does the baseline.
  const emit = async (...drafts: OrderStepDraft[]) => {
    const outs = await progress.publishAll(
      { kind: "order", id: orderId },
      drafts.map((d) => ({ ...d, seq: ++seq })),
    );
    // The publisher never throws; a dropped event here would make the baseline look cheaper than it is.
    if (outs.some((o) => o.outcome === "dropped")) throw new Error(`a progress event of ${orderId} was dropped`);
  };

  // The workflow's first step: the order, its stock and its charge.
  const { order, stock } = await orders.place(
    { orderId, email: "bench@example.com", paymentMethod: "pm_card_visa", lines: [{ sku, quantity: 1 }] },
    "plain",
    { claimCharge: true },
  );
  if (!stock.reserved) throw new Error(`out of stock: ${stock.short.join(", ")}`);
  const charge = await payments.charge({
    idempotencyKey: `order:${orderId}:charge`,
    orderId,
    amountCents: order.totalCents,
    currency: order.currency,
    paymentMethod: order.paymentMethod,
  });
  await orders.confirmPaid(orderId, charge.providerRef);
  await emit(orderSteps.received, orderSteps.persisted, orderSteps.reserved, orderSteps.paid, orderSteps.confirmed);
  // The confirmation goes out beside the shipping, as in the workflow.
  const confirmation = mailer.send({
    idempotencyKey: `order:${orderId}:confirmation`,
    to: order.email,
    template: "order-confirmation",
    data: { orderId, orderUrl, totalCents: order.totalCents, currency: order.currency, lines: order.lines },
  });
  const shipped = await orders.ship(orderId);
  if (!shipped.shipped) throw new Error(`${orderId} was not shipped: ${shipped.reason}`);
  await emit(orderSteps.shipped, orderSteps.fulfilled);
  await mailer.send({
    idempotencyKey: `order:${orderId}:shipped`,
    to: order.email,
    template: "order-shipped",
    data: { orderId, orderUrl },
  });
  await confirmation;
  return performance.now() - started;
}

try {
  await redis.connect();
  await transport.verify();
  // Warm-up (JIT, pools, SMTP connections), not counted.
  await closedLoop(env.PLAIN_CONCURRENCY, 300, placeOrder);
  // This process's own CPU over the measured loop: the bench cannot read it from /proc once we exit.
  const cpuBefore = process.cpuUsage();
  const result = await closedLoop(env.PLAIN_CONCURRENCY, env.PLAIN_DURATION_MS, placeOrder);
  const cpu = process.cpuUsage(cpuBefore);
  process.stdout.write(`${JSON.stringify({ ...result, cpuMs: (cpu.user + cpu.system) / 1000 })}\n`);
} catch (err) {
  process.stderr.write(`plain-orders failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
} finally {
  transport.close();
  await Promise.allSettled([pool.end(), redis.quit()]);
}
// An unreachable Valkey would keep reconnecting; the result is out, so leave now.
process.exit();
