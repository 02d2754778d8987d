/** The web process: wires adapters into `createApp`, listens, owns shutdown. */
import http from "node:http";
import { loadConfigOrExit, webConfigSchema } from "../shared/config.ts";
import { createLogger } from "../shared/logger.ts";
import { createApp } from "./app.ts";
import { wireWeb } from "./wiring.ts";

const config = loadConfigOrExit(webConfigSchema);
const logger = createLogger({ name: "web", level: config.LOG_LEVEL, format: config.LOG_FORMAT });
const wiring = wireWeb(config, logger);
const server = http.createServer(createApp(wiring.deps).callback());
server.listen(config.WEB_PORT, config.WEB_HOST, () => {
  logger.info({ url: `http://${config.WEB_HOST}:${config.WEB_PORT}` }, "web listening");
});

let stopping = false;
async function shutdown(reason: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ reason }, "web shutting down");
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  // SSE streams are long-lived: end them so browsers reconnect (to another replica, or to us again).
  setTimeout(() => server.closeAllConnections(), 2_000).unref();
  await closed;
  await wiring.close();
  logger.info("web stopped");
}
process.once("SIGTERM", () => void shutdown("SIGTERM"));
process.once("SIGINT", () => void shutdown("SIGINT"));
