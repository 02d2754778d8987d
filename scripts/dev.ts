/**
 * `npm run dev`: the whole system on this machine, no Docker. Starts restate-server, PostgreSQL,
 * Valkey and the mail catcher (data under .data/), applies migrations, starts the worker
 * (self-registered) and the web, prints the URLs, and stops everything on Ctrl+C.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { createLogger } from "../shared/logger.ts";
import { portIsFree, type Managed } from "./stack/processes.ts";
import {
  appEnv,
  ROOT,
  startBackingServices,
  startWeb,
  startWorker,
  type BackingServices,
  type StackPorts,
} from "./stack/stack.ts";

const started = performance.now();
const logger = createLogger({ name: "dev", level: "info", format: "pretty" });
const envPort = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

// Defaults are the well-known ports of each service; override any of them with DEV_*_PORT.
const ports: StackPorts = {
  web: envPort("DEV_WEB_PORT", 3000),
  worker: envPort("DEV_WORKER_PORT", 9080),
  ingress: envPort("DEV_INGRESS_PORT", 8080),
  admin: envPort("DEV_ADMIN_PORT", 9070),
  restateNode: envPort("DEV_RESTATE_NODE_PORT", 5122),
  postgres: envPort("DEV_POSTGRES_PORT", 5432),
  valkey: envPort("DEV_VALKEY_PORT", 6379),
  smtp: envPort("DEV_SMTP_PORT", 1025),
  mailUi: envPort("DEV_MAIL_UI_PORT", 1080),
  webMetrics: envPort("DEV_WEB_METRICS_PORT", 9464),
  workerMetrics: envPort("DEV_WORKER_METRICS_PORT", 9465),
};

const busy: string[] = [];
for (const [name, port] of Object.entries(ports)) if (!(await portIsFree(port))) busy.push(`${name} (${port})`);
if (busy.length > 0) {
  logger.fatal(
    `ports already in use: ${busy.join(", ")}. Stop what uses them or set DEV_<NAME>_PORT, e.g. DEV_POSTGRES_PORT=5433.`,
  );
  process.exit(1);
}

const dataDir = path.resolve(process.env.DEV_DATA_DIR ?? path.join(ROOT, ".data"));
mkdirSync(dataDir, { recursive: true });
let services: BackingServices | null = null;
const apps: Managed[] = [];
let stopping = false;

async function stopAll(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    logger.info("stopping…");
    for (const p of apps.reverse()) await p.stop(10_000);
    await services?.stop();
  }
  process.exit(code);
}
process.on("SIGINT", () => void stopAll(0));
process.on("SIGTERM", () => void stopAll(0));

try {
  services = await startBackingServices({ ports, dataDir, logger });
  const env = appEnv(ports, services, {
    LOG_FORMAT: "pretty",
    LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
    ...(process.env.OTEL_EXPORTER_OTLP_ENDPOINT ? { OTEL_EXPORTER_OTLP_ENDPOINT: process.env.OTEL_EXPORTER_OTLP_ENDPOINT } : {}),
  });
  apps.push(await startWorker({ env, adminUrl: services.restate.adminUrl, output: "inherit" }));
  apps.push(await startWeb({ env, port: ports.web, output: "inherit" }));
  for (const p of apps) void p.exited.then((code) => !stopping && (logger.error(`${p.name} exited (${code})`), stopAll(1)));
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  logger.info(
    [
      `Quayside is up in ${seconds} s`,
      `  app          http://127.0.0.1:${ports.web}`,
      `  Restate UI   ${services.restate.adminUrl}/ui/`,
      `  mail UI      ${services.mail.uiUrl}`,
      `  metrics      http://127.0.0.1:${ports.webMetrics}/metrics (web), http://127.0.0.1:${ports.workerMetrics}/metrics (worker)`,
      `  logs         ${dataDir}/*.log (restate, postgres, valkey)`,
      "Ctrl+C stops everything.",
    ].join("\n"),
  );
} catch (err) {
  logger.fatal({ err }, "could not start the local stack");
  await stopAll(1);
}
