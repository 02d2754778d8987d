/** The web app in this process (real adapters, real services), listening on a free port. */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { loadConfig } from "../../shared/config.ts";
import { webConfigSchema } from "../../shared/web-config.schema.ts";
import { createLogger } from "../../shared/logger.ts";
import { createApp, createWebListener } from "../../web/app.ts";
import { registeredRoutes, type RegisteredRoute } from "../../web/route-list.ts";
import { wireWeb } from "../../web/wiring.ts";

export interface InProcessWeb {
  url: string;
  /** Every route the app's routers serve, read from an app built from the same wiring as the one listening. */
  routes(): RegisteredRoute[];
  close(): Promise<void>;
}

export async function startInProcessWeb(env: NodeJS.ProcessEnv): Promise<InProcessWeb> {
  const config = loadConfig(webConfigSchema, env);
  const wiring = wireWeb(config, createLogger({ name: "web-test", level: "silent", format: "json" }));
  const server = http.createServer(createWebListener(wiring.deps));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    routes: () => registeredRoutes(createApp(wiring.deps)),
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await wiring.close();
    },
  };
}
