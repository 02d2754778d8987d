/**
 * The chaos run: the whole system as processes, N shoppers placing orders and watching their
 * progress streams, an operator restocking a few products through /ops/stock, and meanwhile the
 * worker SIGKILLed and restarted again and again,
 * restate-server killed and restarted, Valkey stopped for a while, PostgreSQL restarted. Then the
 * invariants are checked from the outside (ledger, stock, the SMTP catcher, the shoppers' own
 * view, the logs) and reported as one table. Used by `npm run chaos` and by the test suite.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createLogger } from "../../shared/logger.ts";
import { waitFor, type Managed } from "../stack/processes.ts";
import {
  allocatePorts,
  appEnv,
  keepServiceLogs,
  observerPool,
  restartService,
  startBackingServices,
  startWeb,
  startWorker,
  type StackPorts,
} from "../stack/stack.ts";
import { sendCampaign, shop, type CampaignOutcome, type ShopperOutcome } from "./shopper.ts";
import { restock, type RestockOutcome } from "./restocker.ts";
import { CARD_3DS, CARD_DECLINED, CARD_SUCCEEDS, startFakeStripe, type FakeStripeServer } from "../stack/local-stripe/server.ts";
import { checkInvariants, type ChaosFigures, type LedgerSource } from "./invariants.ts";
import { createOperatorsRepo } from "../../web/operators/operators.repo.ts";
import { judgeSoak, watchMemory, type SoakFigures } from "./soak.ts";
import { Redis } from "ioredis";
import { loadConfig } from "../../shared/config.ts";
import { workerConfigSchema } from "../../shared/worker-config.schema.ts";

export interface ChaosOptions {
  orders: number;
  /** Shoppers at the same time, each with its own session and SSE stream. */
  concurrency: number;
  /** Worker SIGKILLs (each followed by a restart); the run keeps killing until at least this many. */
  workerKills: number;
  valkeyOutageMs: number;
  /** Logs and service output end up here. */
  logDir: string;
  /** Each shopper gives up after this long. */
  shopperDeadlineMs: number;
  log?: (line: string) => void;
  /** The payment provider the worker charges: the local ledger (default) or Stripe, here a wire-level fake of it. */
  payments?: "local" | "stripe";
  /** Watch memory through the run and judge it flat (the soak); see soak.ts. */
  soak?: boolean;
  /** Restocks an operator makes through /ops/stock, spread over the run (default 4). */
  restocks?: number;
}

export interface ChaosEvent {
  atMs: number;
  what: string;
}

export interface ChaosReport {
  figures: ChaosFigures;
  soak?: SoakFigures;
  violations: string[];
  timeline: ChaosEvent[];
  durationMs: number;
  shoppers: ShopperOutcome[];
}

/** Products and stock for the run: enough that most orders can be fulfilled, few enough that some sell out. */
function stockFor(orders: number): Record<string, number> {
  const per = Math.max(10, Math.ceil(orders * 0.4));
  return { "MUG-QUAY": per, "TEE-ANCHOR": per, "ROPE-COASTER": per, "KNOT-BOOK": Math.ceil(per / 4) };
}

/** Mostly good cards, some that fail twice before succeeding, a few declines. */
function paymentFor(i: number): string {
  if (i % 17 === 0) return "pm_card_chargeDeclined";
  if (i % 7 === 0) return "pm_card_flaky";
  return "pm_card_visa";
}

/**
 * A shopper on Stripe's hosted page: the card their test token stands for. A declined card makes
 * them give up (they cancel the order); the flaky one stands for a card that needs 3-D Secure.
 */
async function payOnPage(url: string, token: string): Promise<"paid" | "cancel"> {
  const post = (to: string, form: Record<string, string>) =>
    fetch(to, { method: "POST", body: new URLSearchParams(form), redirect: "manual" });
  const card = token === "pm_card_chargeDeclined" ? CARD_DECLINED : token === "pm_card_flaky" ? CARD_3DS : CARD_SUCCEEDS;
  const answer = await post(url, { card });
  if (card === CARD_DECLINED) return "cancel";
  if (card === CARD_3DS) await post(new URL(answer.headers.get("location") ?? "", url).toString(), { result: "complete" });
  return "paid";
}

/** Webhook faults through the run: duplicated, late and lost events (the orders must not care). */
function webhookFaults(stripe: FakeStripeServer, orders: number): () => void {
  const held: Array<() => void> = [];
  for (let i = 0; i < Math.ceil(orders / 10); i++) {
    stripe.webhookFault("*", { kind: "duplicate", copies: 3 });
    stripe.webhookFault("*", { kind: "drop" });
    stripe.webhookFault("*", { kind: "hold", until: new Promise<void>((r) => held.push(r)) });
  }
  return () => held.forEach((release) => release());
}

/** What the (fake) Stripe did, as the invariants read a ledger: captured charges and refunds per order. */
function stripeLedger(stripe: FakeStripeServer): LedgerSource {
  return {
    moved(orderIds) {
      return Promise.resolve(
        orderIds.flatMap((id) => {
          const l = stripe.ledgerOf(id);
          const row = (kind: "charge" | "refund", amounts: number[]) =>
            amounts.length ? [{ order_id: id, kind, n: amounts.length, cents: amounts.reduce((a, b) => a + b, 0) }] : [];
          return [
            ...row(
              "charge",
              l.charges.map((c) => c.amount),
            ),
            ...row(
              "refund",
              l.refunds.map((r) => r.amount),
            ),
          ];
        }),
      );
    },
    openAuthorizations(endedIds) {
      return Promise.resolve(
        endedIds.filter((id) => stripe.ledgerOf(id).paymentIntents.some((pi) => pi.status === "requires_capture")).length,
      );
    },
  };
}

const random = (min: number, max: number) => min + Math.floor(Math.random() * (max - min));

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const say = opts.log ?? (() => undefined);
  const started = Date.now();
  const timeline: ChaosEvent[] = [];
  const mark = (what: string) => {
    timeline.push({ atMs: Date.now() - started, what });
    say(`  +${((Date.now() - started) / 1000).toFixed(1)}s ${what}`);
  };

  rmSync(opts.logDir, { recursive: true, force: true });
  mkdirSync(opts.logDir, { recursive: true });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "quayside-chaos-"));
  chmodSync(dataDir, 0o755); // PostgreSQL runs as the postgres user when this runs as root
  const ports: StackPorts = await allocatePorts();
  const logger = createLogger({ name: "chaos", level: "warn", format: "json" });
  const services = await startBackingServices({ ports, dataDir, fast: true, logger });

  // Secrets with values we can look for in the logs afterwards.
  const secrets = {
    SESSION_SECRET: `chaos-session-${randomBytes(18).toString("hex")}`,
  };
  const stripe: FakeStripeServer | null = opts.payments === "stripe" ? await startFakeStripe() : null;
  const env = appEnv(ports, services, {
    LOG_LEVEL: "info",
    ...secrets,
    // The soak judges memory flat after the warm-up: what is kept on purpose (progress streams,
    // sessions' ownership keys) expires within it instead of after a day.
    ...(opts.soak ? { PROGRESS_STREAM_TTL_SECONDS: "60", SESSION_TTL_SECONDS: "120" } : {}),
    ...(stripe
      ? {
          PAYMENT_PROVIDER: "stripe",
          STRIPE_SECRET_KEY: stripe.secretKey,
          STRIPE_API_BASE: stripe.url,
          STRIPE_TIMEOUT_MS: "5000",
          STRIPE_WEBHOOK_SECRETS: stripe.webhookSecret,
          // Some webhooks are lost on purpose: the orders that miss one ask Stripe after this long.
          PAYMENT_CHECK_INTERVAL_MS: "2000",
        }
      : {}),
    SHIPPING_DELAY_MS: "800",
    PAYMENT_LATENCY_MS: "15",
    PAYMENT_FAULT_RATE: "0.03",
    ORDER_RATE_LIMIT_PER_MINUTE: "100000",
    LOGIN_RATE_LIMIT_PER_MINUTE: "1000",
    SSE_MAX_PER_IP: "100000",
    EMAIL_RETRY_INITIAL_MS: "200",
    EMAIL_RETRY_MAX_MS: "2000",
    CAMPAIGN_SENDS_PER_SECOND: "10",
  });
  const workerLog = path.join(opts.logDir, "worker.log");
  const webLog = path.join(opts.logDir, "web.log");
  const db = observerPool(services.postgres.url);
  const operator = { name: "chaos-operator", password: `chaos-ops-${randomBytes(12).toString("hex")}` };

  let worker: Managed | null = null;
  let web: Managed | null = null;
  let stopping = false;
  const stopAll = async () => {
    stopping = true; // no disruption starts a process from here on
    await Promise.allSettled([web?.stop(5_000), worker?.stop(5_000)]);
    await db.end().catch(() => undefined);
    await services.stop();
    await stripe?.stop();
    keepServiceLogs(dataDir, opts.logDir);
    rmSync(dataDir, { recursive: true, force: true });
  };
  const interrupted = () => void stopAll().then(() => process.exit(130));
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);

  try {
    const stock = stockFor(opts.orders);
    for (const [sku, units] of Object.entries(stock))
      await db.query("UPDATE products SET stock = $2 WHERE sku = $1", [sku, units]);
    // The operator who restocks mid-run: a named account, as production has.
    await createOperatorsRepo(db).setPassword(operator.name, operator.password, "add");
    worker = await startWorker({ env, adminUrl: services.restate.adminUrl, output: workerLog });
    web = await startWeb({ env, port: ports.web, output: webLog });
    const webUrl = `http://127.0.0.1:${ports.web}`;
    if (stripe) stripe.webhookUrl = `${webUrl}/webhooks/stripe`;
    const releaseHeldWebhooks = stripe ? webhookFaults(stripe, opts.orders) : () => {};
    // Restarted workers find their deployment already registered, as in production.
    const restartEnv = { ...env, WORKER_SELF_REGISTER: "false" };
    mark(`stack up: ${opts.orders} orders, ${opts.concurrency} shoppers at a time`);
    const soakRedis = opts.soak ? new Redis(services.valkeyUrl, { maxRetriesPerRequest: 1 }) : null;
    soakRedis?.on("error", () => undefined); // Valkey's outage is part of the run
    const memory = soakRedis ? watchMemory(() => ({ web: web?.child.pid, worker: worker?.child.pid }), soakRedis) : null;

    // --- shoppers ---
    const skus = Object.keys(stock);
    const shoppers: ShopperOutcome[] = [];
    const emails: string[] = [];
    let next = 0;
    let placed = 0;
    const runShopper = async () => {
      for (let i = next++; i < opts.orders; i = next++) {
        const email = `shopper-${i}-${randomBytes(3).toString("hex")}@example.org`;
        emails.push(email);
        const outcome = await shop({
          webUrl,
          sku: skus[i % skus.length] ?? "MUG-QUAY",
          quantity: 1 + (i % 3),
          paymentMethod: paymentFor(i),
          email,
          deadlineMs: opts.shopperDeadlineMs,
          // One in ten presses cancel while the order runs: before shipping it is cancelled, after it is not.
          ...(i % 10 === 3 ? { cancelAfterMs: random(0, 1_500) } : {}),
          ...(stripe ? { pay: (url: string) => payOnPage(url, paymentFor(i)) } : {}),
        });
        if (outcome.placed) placed++;
        shoppers.push(outcome);
      }
    };
    // One email campaign alongside: some recipients bounce, with their address in the refusal, as real servers do.
    const recipients = Array.from(
      { length: 40 },
      (_, i) => `${i % 8 === 5 ? "bounce" : "reader"}-${i}-${randomBytes(3).toString("hex")}@example.net`,
    );
    emails.push(...recipients);
    services.mail.setRecipientPolicy((address) =>
      address.startsWith("bounce-") ? { code: 550, message: `5.1.1 <${address}>: Recipient address rejected` } : null,
    );
    let campaign: CampaignOutcome | null = null;
    const campaigning = sendCampaign({ webUrl, recipients, deadlineMs: opts.shopperDeadlineMs }).then((c) => (campaign = c));
    const shopping = Promise.all([...Array.from({ length: opts.concurrency }, runShopper), campaigning]);
    let shoppingDone = false;
    void shopping.finally(() => (shoppingDone = true));
    const reached = async (fraction: number) => {
      while (!shoppingDone && placed < fraction * opts.orders) await sleep(50);
    };
    // A soak puts every fault in the run's first half: the second half is the steady state whose
    // memory it judges, with one worker process living through all of it.
    const faultAt = (fraction: number) => reached(opts.soak ? fraction / 2 : fraction);

    // --- the worker, SIGKILLed at random moments spread over the run, restarted each time ---
    let workerKills = 0;
    const killWorkers = async () => {
      for (let k = 1; k <= opts.workerKills; k++) {
        await faultAt(k / (opts.workerKills + 1));
        await sleep(random(0, 700));
        await worker?.kill();
        workerKills++;
        mark(`worker SIGKILL #${workerKills}`);
        await sleep(random(0, 300));
        if (stopping) return;
        worker = await startWorker({ env: restartEnv, adminUrl: "", output: workerLog, ready: "listening" });
      }
    };

    // --- one of each: restate-server, Valkey, PostgreSQL ---
    const others = async () => {
      const restart = { ports, dataDir, stopping: () => stopping };
      await faultAt(0.15);
      await restartService(services, "restate", {
        ...restart,
        kill: true,
        downMs: 500,
        onDown: () => mark("restate-server SIGKILL"),
      });
      mark("restate-server restarted");

      await faultAt(0.4);
      const outage = { downMs: opts.valkeyOutageMs, onDown: () => mark(`Valkey stopped for ${opts.valkeyOutageMs / 1000} s`) };
      await restartService(services, "valkey", { ...restart, ...outage });
      mark("Valkey started again");

      await faultAt(0.7);
      await restartService(services, "postgres", { ...restart, onDown: () => mark("PostgreSQL stopped") });
      mark("PostgreSQL restarted");
    };

    // --- an operator restocking through /ops/stock while orders run (and processes die) ---
    const restocks: RestockOutcome[] = [];
    const restockCount = opts.restocks ?? 4;
    const restocking = async () => {
      for (let k = 1; k <= restockCount; k++) {
        await reached(k / (restockCount + 1) - 0.05);
        const sku = skus[k % skus.length] ?? "MUG-QUAY";
        const units = 3 + k;
        const outcome = await restock({ webUrl, operator, sku, units, deadlineMs: opts.shopperDeadlineMs });
        restocks.push(outcome);
        mark(`restock ${sku} +${units}: ${outcome.confirmed ? "confirmed" : `not confirmed (${outcome.error})`}`);
      }
    };

    await Promise.all([shopping, killWorkers(), others(), restocking()]);
    // Late webhooks arrive after the orders they were about moved on without them.
    releaseHeldWebhooks();
    mark(`all shoppers done: ${shoppers.filter((s) => s.sawTerminal).length}/${opts.orders} saw the terminal event`);

    // Workflows of orders whose shopper gave up may still be running: give them a moment to settle.
    await waitFor(
      "orders to settle",
      async () => {
        const r = await db.query(
          `SELECT count(*)::int AS n FROM orders WHERE status NOT IN ('fulfilled','rejected','cancelled','failed')`,
        );
        return (r.rows[0] as { n: number }).n === 0;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    ).catch(() => undefined);

    // Order emails are one-way sends: an order can end before its last email is out (EmailSender
    // retries on its own, e.g. after a worker kill), and an order's row can say it ended while its
    // workflow, killed after that step, has yet to replay and queue the email. Wait until Restate has
    // neither an order workflow nor a send left unfinished.
    await waitFor(
      "emails to settle",
      async () => {
        const res = await fetch(`${services.restate.adminUrl}/query`, {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/json" },
          body: JSON.stringify({
            query: `SELECT count(*) AS n FROM sys_invocation WHERE target_service_name IN ('EmailSender', 'OrderFulfilment') AND status != 'completed'`,
          }),
        });
        if (!res.ok) return false;
        const rows = ((await res.json()) as { rows: Array<{ n: number }> }).rows;
        return Number(rows[0]?.n ?? 1) === 0;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    ).catch(() => mark("emails still in flight after 60 s"));

    const logs = [workerLog, webLog].map((f) => {
      try {
        return readFileSync(f, "utf8");
      } catch {
        return "";
      }
    });
    await memory?.stop();
    // Every sample, for a second look at a flag (RSS per process over time, Valkey's key families).
    if (memory) writeFileSync(path.join(opts.logDir, "soak-samples.json"), `${JSON.stringify(memory.samples, null, 1)}\n`);
    const soak =
      memory && soakRedis
        ? await judgeSoak(
            memory.samples,
            soakRedis,
            loadConfig(workerConfigSchema, {}).PROGRESS_STREAM_MAXLEN,
            // Steady: 3 minutes in, 150 s after Valkey came back (it restarts empty; sessions live
            // 120 s), and two minutes after the last fault: a worker restarted under full load
            // grew its heap for about 90 s before it levelled off (soak of 2026-12-01).
            started +
              Math.max(
                180_000,
                (timeline.find((e) => e.what === "Valkey started again")?.atMs ?? 0) + 150_000,
                Math.max(0, ...timeline.filter((e) => /SIGKILL|restarted|started again/.test(e.what)).map((e) => e.atMs)) +
                  120_000,
              ),
          )
        : undefined;
    soakRedis?.disconnect();
    const result = await checkInvariants({
      db,
      ...(stripe ? { ledger: stripeLedger(stripe) } : {}),
      mail: services.mail,
      shoppers,
      initialStock: stock,
      restocks,
      customerEmails: emails,
      secrets: [...Object.values(secrets), ...(stripe ? [stripe.secretKey] : [])],
      logs: logs.join("\n"),
      workerKills,
      campaign: { outcome: campaign, recipients },
    });
    // A copy of an email is explained only by a crash right after the first one went out.
    const crashes = timeline.filter((e) => /SIGKILL|PostgreSQL stopped/.test(e.what)).map((e) => e.atMs);
    for (const copies of result.resent) {
      const first = Date.parse(copies[0] ?? "") - started;
      const explained = crashes.some((t) => t >= first - 100 && t <= first + 2_000);
      const at = copies.map((c) => `+${((Date.parse(c) - started) / 1000).toFixed(2)}s`).join(", ");
      timeline.push({ atMs: first, what: `email re-sent after a crash: copies at ${at}` });
      if (!explained) result.violations.push(`an email was sent twice (copies at ${at}) with no crash to explain it`);
    }
    timeline.sort((a, b) => a.atMs - b.atMs);
    return {
      figures: result.figures,
      ...(soak ? { soak } : {}),
      violations: [...result.violations, ...(soak?.violations ?? [])],
      timeline,
      durationMs: Date.now() - started,
      shoppers,
    };
  } finally {
    process.off("SIGINT", interrupted);
    process.off("SIGTERM", interrupted);
    await stopAll();
  }
}
