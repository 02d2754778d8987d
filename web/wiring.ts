/** Builds the web's adapters from config: used by `main.ts` and by tests that run the app in-process. */
import { Redis } from "ioredis";
import pg from "pg";
import type { WebConfig } from "../shared/config.ts";
import type { Logger } from "../shared/logger.ts";
import { createCatalogRepo } from "./adapters/catalog.repo.ts";
import { createOrdersClient } from "./adapters/orders-client.ts";
import { createOwnershipStore } from "./adapters/ownership.store.ts";
import { createProgressHub } from "./adapters/progress-hub.ts";
import type { AppDeps } from "./app.ts";

export interface WebWiring {
  deps: AppDeps;
  close(): Promise<void>;
}

export function wireWeb(config: WebConfig, logger: Logger): WebWiring {
  const pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 10, application_name: "quayside-web" });
  pool.on("error", (err) => logger.warn({ err }, "idle PostgreSQL client failed"));
  // A client the pool already let go of (during shutdown) must not crash the process either.
  pool.on("connect", (client) => client.on("error", (err) => logger.debug({ err }, "PostgreSQL connection closed")));
  const redisOptions = { connectTimeout: 2_000, maxRetriesPerRequest: 1, retryStrategy: (n: number) => Math.min(n * 200, 2_000) };
  const commands = new Redis(config.VALKEY_URL, { ...redisOptions, commandTimeout: 2_000 });
  // One subscriber connection for the whole process, shared by every SSE stream.
  const subscriber = new Redis(config.VALKEY_URL, redisOptions);
  for (const [name, conn] of [
    ["commands", commands],
    ["subscriber", subscriber],
  ] as const) {
    conn.on("error", (err) => logger.debug({ err, connection: name }, "Valkey connection error"));
  }

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

  return {
    deps: {
      logger,
      catalog: createCatalogRepo(pool),
      orders: createOrdersClient({ ingressUrl: config.RESTATE_INGRESS_URL }),
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
    },
    async close() {
      await Promise.allSettled([pool.end(), commands.quit(), subscriber.quit()]);
    },
  };
}
