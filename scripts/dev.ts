/**
 * `npm run dev`: the whole system on this machine, no Docker. Starts restate-server, PostgreSQL,
 * Valkey and the mail catcher (data under .data/), applies migrations, starts the worker
 * (self-registered) and the web, each started again if it exits, prints the URLs, and stops
 * everything on Ctrl+C.
 *
 * `npm run services` (`--services`): the backing services and migrations only, on the ports the
 * worker's and web's built-in defaults point at, so `npm run worker` and `npm run web` can run in
 * terminals of their own.
 *
 * Payments: unless `.env` chooses a PAYMENT_PROVIDER, both start a local payment page (the local
 * Stripe in scripts/stack/local-stripe/, on DEV_STRIPE_PORT) and the worker and web use it as
 * Stripe: an order waits on that page, where the tester pays, is declined, passes or fails 3-D
 * Secure, or pays by SEPA debit that settles 20 s later; the outcome reaches the web through the
 * same signed webhook route as Stripe's. Its sessions live in memory: a restart forgets them
 * (an order left waiting then ends when its page would have expired).
 *
 * Settings: this process's environment (with `.env`, which the npm scripts read) reaches the worker
 * and the web as it is; only the addresses of what this script started are set over it.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { loadConfig } from "../shared/config.ts";
import { webConfigSchema } from "../shared/web-config.schema.ts";
import { workerConfigSchema, type WorkerConfig } from "../shared/worker-config.schema.ts";
import { createLogger } from "../shared/logger.ts";
import { startFakeStripe, type FakeStripeServer } from "./stack/local-stripe/server.ts";
import { portIsFree } from "./stack/processes.ts";
import {
  DEFAULT_PORTS,
  ROOT,
  stackAddresses,
  startBackingServices,
  startWeb,
  startWorker,
  type BackingServices,
  type StackPorts,
  valkeyModeFromEnv,
} from "./stack/stack.ts";
import { supervise, type Supervised } from "./stack/supervisor.ts";

const started = performance.now();
const servicesOnly = process.argv.includes("--services");
const logger = createLogger({ name: servicesOnly ? "services" : "dev", level: "info", format: "pretty" });
const envPort = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

// Defaults are the well-known ports of each service; override any of them with DEV_*_PORT.
const ports: Required<StackPorts> = {
  web: envPort("DEV_WEB_PORT", DEFAULT_PORTS.web),
  worker: envPort("DEV_WORKER_PORT", DEFAULT_PORTS.worker),
  ingress: envPort("DEV_INGRESS_PORT", DEFAULT_PORTS.ingress),
  admin: envPort("DEV_ADMIN_PORT", DEFAULT_PORTS.admin),
  restateNode: envPort("DEV_RESTATE_NODE_PORT", DEFAULT_PORTS.restateNode),
  postgres: envPort("DEV_POSTGRES_PORT", DEFAULT_PORTS.postgres),
  valkey: envPort("DEV_VALKEY_PORT", DEFAULT_PORTS.valkey),
  smtp: envPort("DEV_SMTP_PORT", DEFAULT_PORTS.smtp),
  mailUi: envPort("DEV_MAIL_UI_PORT", DEFAULT_PORTS.mailUi),
  webMetrics: envPort("DEV_WEB_METRICS_PORT", DEFAULT_PORTS.webMetrics),
  workerMetrics: envPort("DEV_WORKER_METRICS_PORT", DEFAULT_PORTS.workerMetrics),
};
const appPorts = new Set<keyof StackPorts>(["web", "worker", "webMetrics", "workerMetrics"]);
// VALKEY_MODE=cluster: three primaries and three replicas on free ports instead of one server.
const valkeyMode = valkeyModeFromEnv();

// The local payment page, unless the user chose a provider (`local` keeps the test-token provider).
const localPayments = !process.env.PAYMENT_PROVIDER;
const stripePort = envPort("DEV_STRIPE_PORT", 12111);
/** Fixed, so that `npm run worker` / `npm run web` can be given them once in `.env`; test mode only. */
const LOCAL_STRIPE_KEY = "sk_test_quayside_local";
const LOCAL_WEBHOOK_SECRET = "whsec_quayside_local";
/** What the worker and web need to take payments on the local page. */
const localPaymentEnv = (): NodeJS.ProcessEnv => ({
  PAYMENT_PROVIDER: "stripe",
  STRIPE_SECRET_KEY: LOCAL_STRIPE_KEY,
  STRIPE_API_BASE: `http://127.0.0.1:${stripePort}`,
  STRIPE_WEBHOOK_SECRETS: LOCAL_WEBHOOK_SECRET,
});

const busy: string[] = [];
for (const [name, port] of Object.entries(ports)) {
  if (servicesOnly && appPorts.has(name as keyof StackPorts)) continue; // the worker and web come later
  if (name === "valkey" && valkeyMode === "cluster") continue; // a cluster takes free ports
  if (!(await portIsFree(port))) busy.push(`${name} (${port})`);
}
if (localPayments && !(await portIsFree(stripePort))) busy.push(`stripe (${stripePort})`);
if (busy.length > 0) {
  logger.fatal(
    `ports already in use: ${busy.join(", ")}. Stop what uses them (another \`npm run dev\` or \`npm run services\`?) ` +
      "or set DEV_<NAME>_PORT, e.g. DEV_POSTGRES_PORT=5433.",
  );
  process.exit(1);
}

const dataDir = path.resolve(process.env.DEV_DATA_DIR ?? path.join(ROOT, ".data"));
mkdirSync(dataDir, { recursive: true });
let services: BackingServices | null = null;
let paymentPage: FakeStripeServer | null = null;
const apps: Supervised[] = [];
/** The start-up below, once begun: a stop waits for it, then stops all it started. */
let startup: Promise<void> | null = null;
/** What start-up is starting at this moment, for the stop's message. */
let starting = "";
let stopping: Promise<void> | null = null;

/**
 * Stops everything, whenever it comes. During start-up, the step under way (the backing services,
 * the payment page, the worker or the web) is let finish first, and no step after it begins: a
 * process being started has no handle to stop until its start returns, and a stop that went ahead
 * of it would leave it running. A second Ctrl+C waits for the same stop.
 */
async function stopAll(code: number): Promise<never> {
  stopping ??= (async () => {
    logger.info(starting ? `stopping… (first letting ${starting} finish starting)` : "stopping…");
    const stopApps = (list: Supervised[]) => Promise.all(list.map((p) => p.stop(10_000)));
    // An app already running stops now (and is not started again); one starting, once it has.
    const running = [...apps];
    const first = stopApps(running);
    await startup?.catch(() => undefined);
    await Promise.all([first, stopApps(apps.filter((a) => !running.includes(a)))]);
    await Promise.all([services?.stop(), paymentPage?.stop()]);
  })();
  await stopping;
  process.exit(code);
}
process.on("SIGINT", () => void stopAll(0));
process.on("SIGTERM", () => void stopAll(0));

/** One line each for the model provider and the payment provider the worker will use. */
function providerLines(worker: WorkerConfig): string[] {
  const llm =
    worker.LLM_PROVIDER === "offline"
      ? "offline (placeholder text, no model called; set LLM_PROVIDER in .env for a real one)"
      : `${worker.LLM_PROVIDER}, model ${worker.LLM_MODEL ?? "its default"}${worker.LLM_BASE_URL ? ` at ${worker.LLM_BASE_URL}` : ""}`;
  const faults = [
    worker.PAYMENT_LATENCY_MS > 0 ? `${worker.PAYMENT_LATENCY_MS} ms latency` : "",
    worker.PAYMENT_FAULT_RATE > 0 ? `${worker.PAYMENT_FAULT_RATE * 100} % simulated faults` : "",
  ].filter(Boolean);
  return [
    `  LLM provider ${llm}`,
    paymentPage
      ? `  payments     local payment page at ${paymentPage.url} (test cards are listed on it; outcomes come back as signed webhooks)`
      : worker.PAYMENT_PROVIDER === "stripe"
        ? `  payments     Stripe${worker.STRIPE_API_BASE ? ` at ${worker.STRIPE_API_BASE}` : ""}, test tokens such as pm_card_visa with a test key`
        : `  payments     local provider, test tokens such as pm_card_visa${faults.length ? ` (${faults.join(", ")})` : ""}`,
  ];
}

/** The settings `npm run worker` / `npm run web` need for services on ports other than the defaults. */
function settingsForApps(s: BackingServices): string[] {
  const keys = [
    "DATABASE_URL",
    "VALKEY_URL",
    ...(s.valkeyCluster ? ["VALKEY_CLUSTER_NODES"] : []),
    "RESTATE_INGRESS_URL",
    "RESTATE_ADMIN_URL",
    "RESTATE_UI_URL",
    "SMTP_PORT",
    "MAIL_UI_URL",
    "RESTATE_IDENTITY_KEYS",
  ];
  const addresses = stackAddresses(ports, s);
  return keys.map((k) => `  ${k}=${addresses[k] ?? ""}`);
}

function servicesBanner(s: BackingServices, seconds: string): string {
  const serviceKeys = ["ingress", "admin", "postgres", "valkey", "smtp"] as const;
  const defaults = !s.valkeyCluster && serviceKeys.every((k) => ports[k] === DEFAULT_PORTS[k]);
  return [
    `Backing services are up in ${seconds} s`,
    `  Restate      ingress ${s.restate.ingressUrl}, admin ${s.restate.adminUrl}, UI ${s.restate.adminUrl}/ui/`,
    `  PostgreSQL   ${s.postgres.url} (migrated)`,
    s.valkeyCluster
      ? `  Valkey       cluster, 3 primaries + 3 replicas: ${s.valkeyCluster.seeds}`
      : `  Valkey       ${s.valkeyUrl}`,
    `  SMTP         127.0.0.1:${ports.smtp}, mail UI ${s.mail.uiUrl}`,
    `  logs         ${dataDir}/*.log (restate, postgres, valkey)`,
    defaults
      ? "Now run `npm run worker` and `npm run web`, each in its own terminal: their defaults point here. For the worker to refuse requests this Restate did not sign, give it this setting too (in .env, or exported; it stays valid while .data/ is kept):"
      : "Now run `npm run worker` and `npm run web`, each in its own terminal, with these settings (in .env, or exported):",
    ...(defaults ? [`  RESTATE_IDENTITY_KEYS=${s.restate.identityKey}`] : settingsForApps(s)),
    ...(paymentPage
      ? [
          `For payments on the local payment page (${paymentPage.url}) instead of test tokens, these too:`,
          ...Object.entries(localPaymentEnv()).map(([k, v]) => `  ${k}=${v}`),
        ]
      : []),
    "Ctrl+C stops the services.",
  ].join("\n");
}

/** Starts the stack step by step; a stop stops it between steps (`stopAll` waits for the one under way). */
async function startUp(): Promise<void> {
  const step = <T>(what: string, start: () => Promise<T>): Promise<T | null> => {
    if (stopping) return Promise.resolve(null);
    starting = what;
    return start().finally(() => (starting = ""));
  };
  logger.info("starting restate-server, PostgreSQL, Valkey and the mail catcher, then migrations…");
  services = await step("the backing services", () => startBackingServices({ ports, dataDir, logger, valkey: valkeyMode }));
  if (!services) return;
  if (localPayments) {
    paymentPage = await step("the local payment page", () =>
      startFakeStripe({
        secretKey: LOCAL_STRIPE_KEY,
        webhookSecret: LOCAL_WEBHOOK_SECRET,
        webhookUrl: `http://127.0.0.1:${ports.web}/webhooks/stripe`,
        port: stripePort,
        // As Stripe's test IBANs do, a bit sooner: long enough to watch "processing" on the order.
        asyncSettleAfterMs: 20_000,
      }),
    );
    if (!paymentPage) return;
  }
  const seconds = () => ((performance.now() - started) / 1000).toFixed(1);
  if (servicesOnly) return void logger.info(servicesBanner(services, seconds()));
  // The user's settings first, then the addresses of what was started here.
  const env: NodeJS.ProcessEnv = {
    APP_PROFILE: "dev",
    LOG_FORMAT: "pretty",
    LOG_LEVEL: "info",
    ...process.env,
    ...(paymentPage ? localPaymentEnv() : {}),
    ...stackAddresses(ports, services),
  };
  const workerConfig = loadConfig(workerConfigSchema, env);
  loadConfig(webConfigSchema, env);
  const { adminUrl } = services.restate;
  const worker = await step("the worker", () =>
    supervise({
      name: "worker",
      start: () => startWorker({ env, adminUrl, output: "inherit" }),
      logger,
      onStart: (p, restarts) => restarts > 0 && logger.info(`worker started again (pid ${p.child.pid})`),
    }),
  );
  if (!worker) return;
  apps.push(worker);
  const web = await step("the web", () =>
    supervise({
      name: "web",
      start: () => startWeb({ env, port: ports.web, output: "inherit" }),
      logger,
      onStart: (p, restarts) => restarts > 0 && logger.info(`web started again (pid ${p.child.pid})`),
    }),
  );
  if (!web) return;
  apps.push(web);
  if (stopping) return;
  logger.info(
    [
      `Quayside is up in ${seconds()} s`,
      `  app          http://127.0.0.1:${ports.web}`,
      `  Restate UI   ${services.restate.adminUrl}/ui/`,
      `  mail UI      ${services.mail.uiUrl}`,
      `  operators    http://127.0.0.1:${ports.web}/ops (a new database has "ops" / "ops-dev-password"; npm run operator -- add <name>)`,
      `  metrics      http://127.0.0.1:${ports.webMetrics}/metrics (web), http://127.0.0.1:${ports.workerMetrics}/metrics (worker)`,
      `  worker       pid ${worker.current()?.child.pid} (kill it and watch an order resume: it is started again)`,
      ...providerLines(workerConfig),
      `  logs         ${dataDir}/*.log (restate, postgres, valkey)`,
      "Ctrl+C stops everything.",
    ].join("\n"),
  );
}

startup = startUp();
void startup.catch(async (err: unknown) => {
  // A stop under way explains itself (a Ctrl+C in a terminal reaches every process, so a start
  // fails then); otherwise say why, and stop what did start.
  if (!stopping) logger.fatal({ err }, "could not start the local stack");
  await stopAll(1);
});
