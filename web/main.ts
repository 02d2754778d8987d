/** The web process: wires adapters into `createApp`, listens, owns shutdown. */
import http from "node:http";
import { Redis } from "ioredis";
import pg from "pg";
import { loadConfigOrExit, webConfigSchema } from "../shared/config.ts";
import { createLogger } from "../shared/logger.ts";
import { createCatalogRepo } from "./adapters/catalog.repo.ts";
import { createOrdersClient } from "./adapters/orders-client.ts";
import { createOwnershipStore } from "./adapters/ownership.store.ts";
import { createProgressHub } from "./adapters/progress-hub.ts";
import { createApp } from "./app.ts";

const config = loadConfigOrExit(webConfigSchema);
const logger = createLogger({ name: "web", level: config.LOG_LEVEL, format: config.LOG_FORMAT });

const pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 10, application_name: "quayside-web" });
pool.on("error", (err) => logger.warn({ err }, "idle PostgreSQL client failed"));
const redisOptions = { connectTimeout: 2_000, maxRetriesPerRequest: 1, retryStrategy: (n: number) => Math.min(n * 200, 2_000) };
const commands = new Redis(config.VALKEY_URL, { ...redisOptions, commandTimeout: 2_000 });
// One subscriber connection for the whole process, shared by every SSE stream.
const subscriber = new Redis(config.VALKEY_URL, redisOptions);
for (const [name, conn] of [["commands", commands], ["subscriber", subscriber]] as const) {
  conn.on("error", (err) => logger.debug({ err, connection: name }, "Valkey connection error"));
}

const orders = createOrdersClient({ ingressUrl: config.RESTATE_INGRESS_URL });

async function readiness(): Promise<Record<string, boolean>> {
  const probe = async (fn: () => Promise<unknown>) => fn().then(() => true, () => false);
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

const app = createApp({
  logger,
  catalog: createCatalogRepo(pool),
  orders,
  ownership: createOwnershipStore(commands, config.SESSION_TTL_SECONDS),
  hub: createProgressHub({ subscriber, commands, logger }),
  readiness,
  config: {
    profile: config.APP_PROFILE,
    sessionSecret: config.SESSION_SECRET,
    sessionTtlSeconds: config.SESSION_TTL_SECONDS,
    restateUiUrl: config.RESTATE_UI_URL,
    sseKeepAliveMs: config.SSE_KEEPALIVE_MS,
    readyCacheMs: config.READY_CACHE_MS,
  },
});

const server = http.createServer(app.callback());
server.listen(config.WEB_PORT, config.WEB_HOST, () => {
  logger.info({ url: `http://${config.WEB_HOST}:${config.WEB_PORT}` }, "web listening");
});

let stopping = false;
async function shutdown(reason: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ reason }, "web shutting down");
  server.close();
  server.closeIdleConnections();
  // SSE streams are long-lived: end them so browsers reconnect to another replica.
  setTimeout(() => server.closeAllConnections(), 2_000).unref();
  await new Promise<void>((resolve) => server.once("close", () => resolve()));
  await Promise.allSettled([pool.end(), commands.quit(), subscriber.quit()]);
  logger.info("web stopped");
}
process.once("SIGTERM", () => void shutdown("SIGTERM"));
process.once("SIGINT", () => void shutdown("SIGINT"));
