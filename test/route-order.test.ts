/**
 * Routers answer the same whichever order they are mounted in. The app is built three times from
 * one wiring: as usual, with its routers reversed, and rotated. Every route the routers serve is
 * requested on each (with ids, and with the literal segments other routes use where an id goes:
 * `/orders/new`, `/orders/find`, `/ops/orders/<id>/cancel` beside `/approve`), as a signed-in
 * operator so the gate lets everything through to the routers, and each answers alike.
 */
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import type Koa from "koa";
import { v7 as uuidv7 } from "uuid";
import { loadConfig } from "../shared/config.ts";
import { webConfigSchema } from "../shared/web-config.schema.ts";
import { createLogger } from "../shared/logger.ts";
import { createApp } from "../web/app.ts";
import { appRouters } from "../web/app-routers.ts";
import type { AppState } from "../web/app-state.ts";
import { registeredRoutes, type RegisteredRoute } from "../web/route-list.ts";
import { wireWeb, type WebWiring } from "../web/wiring.ts";
import { type BrowserClient, extract } from "./helpers/browser-client.ts";
import { addOperator, signInOperator } from "./helpers/operators.ts";
import { fillPath, routeName, type ParamTable } from "./helpers/route-params.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";

const PASSWORD = "a long operator password for route order";
/** Any segment another route puts where an id goes, plus a well-formed unknown id and a malformed one. */
const ID_SEGMENTS = [uuidv7(), "new", "find", "events", "actions", "not-an-id"];
const PARAMS: ParamTable = {
  id: () => ID_SEGMENTS,
  sku: () => ["MUG-QUAY", "not a sku"],
  campaignId: () => [uuidv7()],
  hash: () => ["not-a-signature"],
};
// Signing out ends the operator's session: tried last, so every other route is tried signed in.
const LAST = "POST /ops/logout";

interface Served {
  name: string;
  app: Koa<AppState>;
  server: http.Server;
  client: BrowserClient;
  csrf: string;
}

/** What a person would tell apart: status, where it redirects, the kind of body, the page's title, heading and error text. */
async function answer(served: Served, route: RegisteredRoute, path: string): Promise<string> {
  const res =
    route.method === "POST"
      ? await served.client.request(path, {
          method: "POST",
          body: new URLSearchParams({ _csrf: served.csrf }).toString(),
          headers: { "content-type": "application/x-www-form-urlencoded" },
        })
      : await served.client.request(path, { method: route.method });
  const type = res.headers.get("content-type") ?? "";
  // A stream that opened stays open: its headers say enough.
  const body = type.startsWith("text/event-stream") ? (await res.body?.cancel(), "") : await res.text();
  const text = (re: RegExp) => (re.exec(body)?.[1] ?? "").replace(/\s+/g, " ").trim();
  return [
    res.status,
    res.headers.get("location") ?? "-",
    type.split(";")[0],
    text(/<title>([^<]*)<\/title>/),
    text(/<h1[^>]*>([^<]*)<\/h1>/),
    text(/<section class="error"[^>]*>[\s\S]*?<p>([^<]*)<\/p>/),
  ].join(" | ");
}

describe("routers mounted in any order", () => {
  let stack: TestStack;
  let wiring: WebWiring;
  const apps: Served[] = [];

  async function serve(name: string, app: Koa<AppState>): Promise<void> {
    const server = http.createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const client = await signInOperator(url, "router-order", PASSWORD);
    const csrf = extract((await client.get("/ops")).html, "_csrf");
    apps.push({ name, app, server, client, csrf });
  }

  before(async () => {
    stack = await startTestStack("route-order", {
      worker: false,
      env: {
        LOGIN_RATE_LIMIT_PER_MINUTE: "100",
        ORDER_LOOKUP_RATE_LIMIT_PER_MINUTE: "100",
        ORDER_LOOKUP_PER_ADDRESS_PER_HOUR: "100",
      },
    });
    wiring = wireWeb(loadConfig(webConfigSchema, stack.env), createLogger({ name: "web-test", level: "silent", format: "json" }));
    await addOperator(stack.env, "router-order", PASSWORD);
    const routers = appRouters(wiring.deps);
    const half = Math.floor(routers.length / 2);
    await serve("as built", createApp(wiring.deps));
    await serve("reversed", createApp(wiring.deps, appRouters(wiring.deps).reverse()));
    await serve("rotated", createApp(wiring.deps, [...routers.slice(half), ...routers.slice(0, half)]));
  });
  after(async () => {
    for (const { server } of apps) {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
    await wiring?.close();
    await stack?.stop();
  });

  it("mounts the same routes, in a different order", () => {
    const [usual, ...others] = apps.map(({ app }) => registeredRoutes(app));
    for (const routes of others) {
      assert.deepEqual(routes.map(routeName).sort(), usual!.map(routeName).sort());
      assert.notDeepEqual(routes.map(routeName), usual!.map(routeName), "the order differs, or this test proves nothing");
    }
  });

  it("answers every route's paths alike", async () => {
    const routes = registeredRoutes(apps[0]!.app).sort((a, b) => Number(routeName(a) === LAST) - Number(routeName(b) === LAST));
    assert.ok(routes.length > 20, `only ${routes.length} routes found`);
    const differences: string[] = [];
    for (const route of routes)
      for (const path of fillPath(route, PARAMS)) {
        const [usual, ...others] = await Promise.all(apps.map((app) => answer(app, route, path)));
        others.forEach((other, i) => {
          if (other !== usual)
            differences.push(`${route.method} ${path}: ${apps[0]!.name} ${usual}; ${apps[i + 1]!.name} ${other}`);
        });
      }
    assert.deepEqual(differences, []);
  });

  it("serves the literal paths beside an id to their own routes", async () => {
    for (const app of apps) {
      const form = await app.client.get("/orders/new");
      assert.equal(form.status, 200, `${app.name}: GET /orders/new`);
      assert.match(form.html, /name="orderId"/, `${app.name}: the order form`);
      assert.equal((await app.client.get("/orders/find")).status, 200, `${app.name}: GET /orders/find`);
      const malformed = await app.client.get("/orders/not-an-id");
      assert.equal(malformed.status, 404, `${app.name}: GET /orders/not-an-id`);
      assert.match(malformed.html, /We could not find that order\./, `${app.name}: the order route's own 404`);
    }
  });
});
