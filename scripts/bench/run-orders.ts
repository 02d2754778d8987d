/** The scenarios that place orders through the web: the pipeline beside its baselines (1), paid orders (1b), the form ingest (2), the flash sale (5). */
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { startFakeStripe } from "../stack/local-stripe/server.ts";
import { runBaseline } from "./baseline-process.ts";
import type { OrdersRun } from "./bench-results.ts";
import { checkoutOrders } from "./checkout.scenario.ts";
import { withCpu } from "./cpu.ts";
import { flashSale } from "./flash-sale.scenario.ts";
import { accountOrders, type OrderSample } from "./order-account.ts";
import { formIngest, ordersEndToEnd, rawIngest, rawWorkflows } from "./orders.scenario.ts";
import type { Bench } from "./run-context.ts";
import type { LoadResult } from "./stats.ts";
import { countWork, perOrder, streamBytes } from "./work-count.ts";

export async function runOrders(b: Bench): Promise<void> {
  b.results.orders = [];
  const counter = new Redis(b.stack.services.valkeyUrl);
  for (const c of [1, 8, 64]) b.results.orders.push(await ordersAt(b, c, counter));
  counter.disconnect();
}

/** The orders at concurrency `c`, then the raw workflow and the selected peers at the same concurrency. */
async function ordersAt(b: Bench, c: number, counter: Redis): Promise<OrdersRun> {
  const { stack, knobs } = b;
  b.say(`orders end to end, concurrency ${c}`);
  const webRun =
    c === 1
      ? await ordersCounted(b, counter)
      : await withCpu(stack.pids, () => ordersEndToEnd(stack.targets, c, knobs.BENCH_DURATION_MS));
  await sleep(1_000);
  const raw = await withCpu(stack.pids, () => rawWorkflows(stack.targets, c, knobs.BENCH_DURATION_MS));
  await sleep(1_000);
  return { web: webRun.value, raw: raw.value, cpu: { web: webRun.cpu, raw: raw.cpu }, ...(await peersAt(b, c)) };
}

/** Concurrency 1, counted: the work per order on the servers, and Restate's own account of the last orders. */
async function ordersCounted(b: Bench, counter: Redis): Promise<{ value: LoadResult; cpu: Record<string, number> }> {
  const { stack } = b;
  const samples: OrderSample[] = [];
  const countedFrom = await countWork(stack.services.postgres.url, counter);
  const webRun = await withCpu(stack.pids, () => ordersEndToEnd(stack.targets, 1, b.knobs.BENCH_DURATION_MS, samples));
  const counted = await countWork(stack.services.postgres.url, counter);
  const bytes = await streamBytes(
    counter,
    samples.map((o) => o.orderId),
  );
  b.results.orderWork = perOrder(countedFrom, counted, samples.length, bytes);
  b.say("order cost account from Restate's introspection");
  b.results.orderAccount = await accountOrders(stack.services.restate.adminUrl, samples.slice(-100));
  return webRun;
}

/** The same-run baselines BENCH_PEERS selects. */
async function peersAt(b: Bench, c: number): Promise<Pick<OrdersRun, "plain" | "dbos">> {
  const { stack, knobs } = b;
  const peers: Pick<OrdersRun, "plain" | "dbos"> = {};
  if (knobs.BENCH_PEERS.has("plain")) {
    b.say(`the same work without durability, concurrency ${c}`);
    peers.plain = await runBaseline(stack.pids, "plain-orders.ts", {
      PLAIN_DATABASE_URL: stack.services.postgres.url,
      PLAIN_VALKEY_URL: stack.services.valkeyUrl,
      PLAIN_SMTP_HOST: "127.0.0.1",
      PLAIN_SMTP_PORT: String(stack.ports.smtp),
      PLAIN_SKUS: stack.skus.join(","),
      PLAIN_CONCURRENCY: String(c),
      PLAIN_DURATION_MS: String(knobs.BENCH_DURATION_MS),
    });
    await sleep(1_000);
  }
  if (knobs.BENCH_PEERS.has("dbos")) {
    b.say(`DBOS: the raw 3-step workflow, concurrency ${c}`);
    peers.dbos = await runBaseline(stack.pids, "dbos-noop.ts", {
      DBOS_DATABASE_URL: stack.services.postgres.adminUrl,
      DBOS_CONCURRENCY: String(c),
      DBOS_DURATION_MS: String(knobs.BENCH_DURATION_MS),
    });
    await sleep(1_000);
  }
  return peers;
}

/**
 * The worker and web as `npm run dev` runs them: paying on the local Stripe's page, its webhooks
 * signed and delivered to the web. Then back to the settings the other scenarios use.
 */
export async function runCheckout(b: Bench): Promise<void> {
  const { stack } = b;
  const stripe = await startFakeStripe({ webhookUrl: `http://127.0.0.1:${stack.ports.web}/webhooks/stripe` });
  const paying: NodeJS.ProcessEnv = {
    PAYMENT_PROVIDER: "stripe",
    STRIPE_SECRET_KEY: stripe.secretKey,
    STRIPE_API_BASE: stripe.url,
    STRIPE_WEBHOOK_SECRETS: stripe.webhookSecret,
  };
  try {
    await stack.restartApps(paying, "checkout");
    await checkoutOrders(stack.targets, stripe, 2, 1_500); // warm-up
    b.say("orders paid on the hosted payment page, concurrency 8");
    b.results.checkout = await checkoutOrders(stack.targets, stripe, 8, b.knobs.BENCH_DURATION_MS);
    await stack.restartApps({}, "after-checkout");
  } finally {
    await stripe.stop();
  }
}

/** The scenario warms up on its own, and puts the stock back as it found it. */
export async function runFlashSale(b: Bench): Promise<void> {
  const { stack, knobs } = b;
  b.results.flash = await flashSale({
    targets: stack.targets,
    databaseUrl: stack.services.postgres.url,
    adminUrl: stack.services.restate.adminUrl,
    buyers: knobs.BENCH_FLASH_BUYERS,
    units: knobs.BENCH_FLASH_UNITS,
    concurrency: knobs.BENCH_FLASH_CONCURRENCY,
    hotSku: knobs.BENCH_FLASH_SKU ?? stack.skus[0]!,
    spreadSkus: knobs.BENCH_FLASH_PRODUCTS > 0 ? stack.skus.slice(0, knobs.BENCH_FLASH_PRODUCTS) : stack.skus,
    pids: stack.pids,
    say: b.say,
  });
  for (const failure of b.results.flash.failures) b.say(`FAILED: ${failure}`);
  for (const warning of b.results.flash.warnings) b.say(`warning: ${warning}`);
}

/** Raw first: the orders the web ingests keep the worker busy afterwards, which must not slow the baseline. */
export async function runIngest(b: Bench): Promise<void> {
  const { stack } = b;
  const ms = Math.min(b.knobs.BENCH_DURATION_MS, 5_000);
  b.say("form ingest vs raw submit");
  const raw = await withCpu(stack.pids, () => rawIngest(stack.targets, 32, ms));
  await sleep(3_000);
  const webRun = await withCpu(stack.pids, () => formIngest(stack.targets, 32, ms));
  b.results.ingest = { web: webRun.value, raw: raw.value, cpu: { web: webRun.cpu, raw: raw.cpu } };
  // The same with both endpoints stopped: Restate accepts and queues, nothing executes, so only the ingest paths compete.
  b.say("form ingest vs raw submit, endpoints stopped");
  await Promise.all([stack.worker.stop(10_000), stack.noop.stop(10_000)]);
  const rawOnly = await withCpu(stack.pids, () => rawIngest(stack.targets, 32, ms));
  await sleep(2_000);
  const webOnly = await withCpu(stack.pids, () => formIngest(stack.targets, 32, ms));
  b.results.ingestOnly = { web: webOnly.value, raw: rawOnly.value, cpu: { web: webOnly.cpu, raw: rawOnly.cpu } };
}
