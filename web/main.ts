/** The web process: wires adapters into `createApp`, listens, owns shutdown. */
import http from "node:http";
import { Registry } from "prom-client";
import { runMigrations } from "../migrations/runner.ts";
import { loadConfigOrExit } from "../shared/config.ts";
import { webConfigSchema } from "../shared/web-config.schema.ts";
import { createLogger } from "../shared/logger.ts";
import { startOpsServer } from "../shared/metrics-server.ts";
import { startTelemetry } from "../shared/telemetry.ts";
import { createWebListener } from "./app.ts";
import { createWebMetrics } from "./metrics.ts";
import { prepareOperators } from "./operators/operator-setup.ts";
import { wireWeb } from "./wiring.ts";

const config = loadConfigOrExit(webConfigSchema);
const logger = createLogger({ name: "web", level: config.LOG_LEVEL, format: config.LOG_FORMAT });
const telemetry = await startTelemetry({
  serviceName: config.OTEL_SERVICE_NAME ?? "quayside-web",
  endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
});
// Production migrates as its own step; this is for single-process setups (refused in prod unless allowed).
if (config.WEB_AUTO_MIGRATE) await runMigrations(config.DATABASE_URL, logger);

let draining = false;
const metrics = createWebMetrics();
const wiring = wireWeb(config, logger);
const refusal = await prepareOperators(config.APP_PROFILE, wiring.deps.accounts, logger);
if (refusal) {
  logger.fatal(`refusing to start: ${refusal}`);
  await wiring.close();
  process.exit(1);
}
// SSE delivery counts its own metrics; one endpoint serves them all.
const registry = Registry.merge([metrics.registry, wiring.deps.sseRegistry]);
const server = http.createServer(createWebListener({ ...wiring.deps, metrics, draining: () => draining }));
// Keep-alive sockets of idle browsers must not hold shutdown open.
server.keepAliveTimeout = 5_000;
const opsServer =
  config.WEB_METRICS_PORT > 0
    ? await startOpsServer({ host: config.OPS_HOST, port: config.WEB_METRICS_PORT, registry, ready: () => !draining })
    : null;
// A restarted replica takes every open page's reconnect at once: a deeper accept queue than
// Node's default (511) keeps that burst from turning into SYN retransmits of a second or more.
server.listen({ port: config.WEB_PORT, host: config.WEB_HOST, backlog: 4096 }, () => {
  logger.info({ url: `http://${config.WEB_HOST}:${config.WEB_PORT}`, opsPort: config.WEB_METRICS_PORT }, "web listening");
});

/**
 * SIGTERM: readiness fails first, new connections are refused, requests in flight finish, SSE
 * streams are ended (browsers reconnect, to another replica, and resume by Last-Event-ID), pools
 * close; everything within SHUTDOWN_DRAIN_MS, after which what is left is cut off.
 */
async function shutdown(reason: string): Promise<void> {
  if (draining) return;
  draining = true;
  const deadline = Date.now() + config.SHUTDOWN_DRAIN_MS;
  logger.info({ reason, drainMs: config.SHUTDOWN_DRAIN_MS }, "web shutting down");
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const ended = wiring.endStreams();
  logger.info({ streams: ended }, "SSE streams ended");
  // Connections go idle as their last response ends (streams just now, POSTs as they finish): close them as they do.
  const sweep = setInterval(() => server.closeIdleConnections(), 100);
  await Promise.race([closed, new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())).unref())]);
  clearInterval(sweep);
  server.closeAllConnections();
  await Promise.allSettled([wiring.close(), telemetry.shutdown()]);
  await new Promise((r) => (opsServer ? opsServer.close(r) : r(null)));
  logger.info("web stopped");
}
process.once("SIGTERM", () => void shutdown("SIGTERM"));
process.once("SIGINT", () => void shutdown("SIGINT"));
