/**
 * Who may act in the operator console. The routes under test are read from the app's own routers,
 * so a route added under /ops tomorrow is tried here without anyone listing it: signed out it is
 * refused (403, or the sign-in form), for a session whose account was disabled or reset it is
 * refused and nothing is stored, for an enabled operator it is served. An open operator stream
 * ends once the account is disabled. Approving or rejecting an order that does not exist, or that
 * is not waiting any more, is refused before anything is recorded or sent to the workflow.
 */
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import Router from "@koa/router";
import type Koa from "koa";
import { v7 as uuidv7 } from "uuid";
import { loadConfig } from "../shared/config.ts";
import { webConfigSchema } from "../shared/web-config.schema.ts";
import { createLogger } from "../shared/logger.ts";
import { createApp } from "../web/app.ts";
import type { AppState } from "../web/app-state.ts";
import { isOperatorPath } from "../web/operators/operator-gate.ts";
import { registeredRoutes } from "../web/route-list.ts";
import { wireWeb, type WebWiring } from "../web/wiring.ts";
import { BrowserClient, extract, waitUntil } from "./helpers/browser-client.ts";
import { addOperator, operatorCommand, signInOperator } from "./helpers/operators.ts";
import { restateSql } from "./helpers/restate-admin.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";

const PASSWORD = "a long operator password for the gate";
/** Signing in and out: the only operator routes open to anyone. Written here, not read from the gate, so a new exemption fails this test. */
const OPEN_ROUTES = new Set(["POST /ops/login", "POST /ops/logout"]);

interface OperatorRoute {
  method: string;
  path: string;
}

describe("the operator gate", () => {
  let stack: TestStack;
  let wiring: WebWiring;
  let app: Koa<AppState>;
  let server: http.Server;
  let url = "";
  /** Set by a route the test adds to the app with no check of its own. */
  let unguardedRouteRan = false;
  let adminUrl = "";

  before(async () => {
    stack = await startTestStack("operator-gate", {
      // Orders above €150 wait a day for an operator: they stay waiting until a test decides.
      env: { APPROVAL_THRESHOLD_CENTS: "15000", APPROVAL_TIMEOUT_MS: "86400000" },
    });
    wiring = wireWeb(loadConfig(webConfigSchema, stack.env), createLogger({ name: "web-test", level: "silent", format: "json" }));
    app = createApp(wiring.deps);
    // Someone adds an operator route and forgets every check: the gate still stands in front of it.
    const added = new Router<AppState>();
    added.post("/ops/added-later", (ctx) => {
      unguardedRouteRan = true;
      ctx.body = "done";
    });
    app.use(added.routes());
    server = http.createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    adminUrl = `http://127.0.0.1:${stack.ports.admin}`;
  });
  after(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    await wiring?.close();
    await stack?.stop();
  });

  /** Every method and path under /ops the app's routers serve, read from the routers themselves. */
  function operatorRoutes(): OperatorRoute[] {
    return registeredRoutes(app).filter((r) => isOperatorPath(r.path) && !OPEN_ROUTES.has(`${r.method} ${r.path}`));
  }

  async function placeOrder(lamps: string): Promise<string> {
    const customer = new BrowserClient(url);
    const form = await customer.get("/orders/new");
    const orderId = extract(form.html, "orderId");
    const res = await customer.postForm("/orders", {
      _csrf: extract(form.html, "_csrf"),
      orderId,
      email: "gate@example.com",
      paymentMethod: "pm_card_visa",
      "qty[LAMP-HARBOUR]": lamps,
    });
    assert.equal(res.status, 303);
    return orderId;
  }

  async function placeWaitingOrder(): Promise<string> {
    const orderId = await placeOrder("2");
    await waitUntil("the order to wait for an operator", async () => (await orderRow(orderId))?.status === "awaiting_approval");
    return orderId;
  }

  const orderRow = async (id: string) =>
    (await stack.db.query("SELECT status, status_reason, approval_decided_by FROM orders WHERE id = $1", [id])).rows[0];

  /** Everything an operator route could write: the audit rows, stock, refunds, the order itself. */
  async function writes(orderId: string) {
    const counts = await stack.db.query(
      `SELECT (SELECT count(*)::int FROM operator_decisions) AS decisions, (SELECT count(*)::int FROM stock_movements) AS movements,
              (SELECT count(*)::int FROM order_refunds) AS refunds, (SELECT sum(stock)::int FROM products) AS stock`,
    );
    return { ...counts.rows[0], order: await orderRow(orderId), unguardedRouteRan };
  }

  /** Calls one route as `client` with a form that would do its work if it were let in. */
  async function call(client: BrowserClient, route: OperatorRoute, orderId: string, csrf: string) {
    const values: Record<string, string> = { id: orderId, action: "approve", sku: "MUG-QUAY" };
    const path = route.path.replace(/:(\w+)/g, (_, name: string) => {
      const value = values[name];
      if (value === undefined) throw new Error(`the gate test has no value for :${name} in ${route.path}; add one`);
      return value;
    });
    if (route.method === "GET") {
      const res = await client.request(path, { headers: { accept: "text/html" } });
      if (!res.headers.get("content-type")?.startsWith("text/event-stream"))
        return { status: res.status, html: await res.text() };
      await res.body?.cancel(); // an open live stream: its status is the answer
      return { status: res.status, html: "" };
    }
    return client.postForm(path, {
      _csrf: csrf,
      reason: "tried by the gate test",
      units: "3",
      count: "7",
      kind: "restock",
      movementId: uuidv7(),
      requestId: uuidv7(),
    });
  }

  /** Refused: a 403 that offers the sign-in form to a page, or the sign-in form at /ops, the console's front door. */
  function assertRefused(route: OperatorRoute, res: { status: number; html: string }, who: string): void {
    const label = `${route.method} ${route.path} (${who})`;
    if (route.method === "GET" && route.path === "/ops") assert.equal(res.status, 200, label);
    else assert.equal(res.status, 403, label);
    assert.doesNotMatch(res.html, /Signed in as/, label);
    if (route.method === "GET") assert.match(res.html, /Operator sign-in/, `${label}: the refusal offers the sign-in form`);
  }

  it("reads more than a handful of operator routes from the routers, the ones every operator page needs among them", () => {
    const names = operatorRoutes().map((r) => `${r.method} ${r.path}`);
    for (const known of [
      "GET /ops",
      "GET /ops/stock",
      "POST /ops/stock/:sku",
      "GET /ops/overview",
      "GET /ops/events",
      "GET /ops/orders/:id/actions",
      "POST /ops/orders/:id/cancel",
      "POST /ops/orders/:id/refund",
      "POST /ops/orders/:id/approve",
      "POST /ops/orders/:id/reject",
      "POST /ops/added-later",
    ])
      assert.ok(names.includes(known), `${known} is among ${names.join(", ")}`);
  });

  it("refuses every operator route to a signed-out visitor, and nothing is stored", async () => {
    const orderId = await placeWaitingOrder();
    const stranger = new BrowserClient(url);
    const csrf = extract((await stranger.get("/ops")).html, "_csrf");
    const before = await writes(orderId);
    for (const route of operatorRoutes()) assertRefused(route, await call(stranger, route, orderId, csrf), "signed out");
    assert.deepEqual(await writes(orderId), before);
  });

  it("refuses every operator route to the live session of a disabled operator, and nothing is stored", async () => {
    const orderId = await placeWaitingOrder();
    await addOperator(stack.env, "dora", PASSWORD);
    const dora = await signInOperator(url, "dora", PASSWORD);
    const csrf = extract((await dora.get("/ops")).html, "_csrf");
    assert.equal((await operatorCommand(stack.env, ["disable", "dora"])).code, 0);
    const before = await writes(orderId);
    for (const route of operatorRoutes()) assertRefused(route, await call(dora, route, orderId, csrf), "disabled");
    assert.deepEqual(await writes(orderId), before);
  });

  it("refuses every operator route to a session signed in before the account's password was reset", async () => {
    const orderId = await placeWaitingOrder();
    await addOperator(stack.env, "rhea", PASSWORD);
    const before = await signInOperator(url, "rhea", PASSWORD);
    const csrf = extract((await before.get("/ops")).html, "_csrf");
    const reset = await operatorCommand(stack.env, ["reset", "rhea"], {
      extraEnv: { OPERATOR_PASSWORD: `${PASSWORD}, renewed` },
    });
    assert.equal(reset.code, 0, reset.stderr);
    const stored = await writes(orderId);
    for (const route of operatorRoutes()) assertRefused(route, await call(before, route, orderId, csrf), "reset");
    assert.deepEqual(await writes(orderId), stored);
    const after = await signInOperator(url, "rhea", `${PASSWORD}, renewed`);
    assert.match((await after.get("/ops")).html, /Signed in as <strong data-operator>rhea<\/strong>/);
  });

  it("serves every operator route to an enabled operator", async () => {
    const orderId = await placeWaitingOrder();
    await addOperator(stack.env, "enzo", PASSWORD);
    const enzo = await signInOperator(url, "enzo", PASSWORD);
    const csrf = extract((await enzo.get("/ops")).html, "_csrf");
    for (const route of operatorRoutes()) {
      const res = await call(enzo, route, orderId, csrf);
      assert.notEqual(res.status, 403, `${route.method} ${route.path}`);
      assert.ok(res.status < 500, `${route.method} ${route.path} answered ${res.status}`);
    }
    assert.ok(unguardedRouteRan, "the route added without checks ran for the operator");
  });

  it("ends an operator's open live stream once the account is disabled, and refuses a new one", async () => {
    await addOperator(stack.env, "odin", PASSWORD);
    const odin = await signInOperator(url, "odin", PASSWORD);
    let disabled: ReturnType<typeof operatorCommand> | undefined;
    // Disabled once the stream has delivered its first fragment; the stream is read until the server ends it.
    const stream = await odin.sse("/ops/events", {
      timeoutMs: 60_000,
      stopWhen: () => {
        disabled ??= operatorCommand(stack.env, ["disable", "odin"]);
        return false;
      },
    });
    assert.equal(stream.status, 200);
    assert.ok(disabled, "the stream delivered fragments before the account was disabled");
    assert.equal((await disabled).code, 0);
    assert.equal(stream.ended, true, "the server ended the stream (not the test's time limit)");
    assert.equal((await odin.sse("/ops/events", { timeoutMs: 10_000 })).status, 403);
  });
  describe("decisions on orders that are not waiting", () => {
    async function operator(name: string) {
      await addOperator(stack.env, name, PASSWORD);
      const client = await signInOperator(url, name, PASSWORD);
      return { client, csrf: extract((await client.get("/ops")).html, "_csrf") };
    }

    const status = async (id: string) => (await stack.db.query("SELECT status FROM orders WHERE id = $1", [id])).rows[0]?.status;
    const decisions = async (id: string) =>
      (await stack.db.query("SELECT operator, action, outcome FROM operator_decisions WHERE order_id = $1 ORDER BY id", [id]))
        .rows;
    /** The approve/reject calls Restate took for this workflow key. */
    const decisionCalls = async (id: string) =>
      (
        await restateSql(
          adminUrl,
          `SELECT id FROM sys_invocation WHERE target_service_name = 'OrderFulfilment' AND target_service_key = '${id}' ` +
            `AND target_handler_name IN ('approve', 'reject')`,
        )
      ).length;

    it("answers 404 for an order that does not exist, and records and sends nothing", async () => {
      const { client, csrf } = await operator("uma");
      const unknown = uuidv7();
      for (const action of ["approve", "reject"]) {
        const res = await client.postForm(`/ops/orders/${unknown}/${action}`, { _csrf: csrf });
        assert.equal(res.status, 404, action);
        assert.match(res.html, /We could not find that order/);
      }
      assert.deepEqual(await decisions(unknown), []);
      assert.equal(await decisionCalls(unknown), 0, "no invocation on a workflow key that never existed");
    });

    it("answers 409 to a second decision on an order already decided, and records nothing more", async () => {
      const { client, csrf } = await operator("vera");
      const orderId = await placeOrder("2");
      await waitUntil("the order to wait for an operator", async () => (await status(orderId)) === "awaiting_approval");
      const approved = await client.postForm(`/ops/orders/${orderId}/approve`, { _csrf: csrf });
      assert.equal(approved.status, 303);
      // At once, while the order's row may still say it is waiting.
      const again = await client.postForm(`/ops/orders/${orderId}/reject`, { _csrf: csrf });
      assert.equal(again.status, 409);
      assert.match(again.html, /not waiting for a decision any more/);
      assert.deepEqual(await decisions(orderId), [{ operator: "vera", action: "approve", outcome: "accepted" }]);
      assert.equal(await decisionCalls(orderId), 1, "only the first decision reached the workflow");
    });

    it("answers 409 for an order that has finished, and records and sends nothing", async () => {
      const { client, csrf } = await operator("wynn");
      // Below the threshold: it never waits for an operator, and is fulfilled.
      const orderId = await placeOrder("1");
      await waitUntil("the order to be fulfilled", async () => (await status(orderId)) === "fulfilled");
      for (const action of ["approve", "reject"]) {
        const res = await client.postForm(`/ops/orders/${orderId}/${action}`, { _csrf: csrf });
        assert.equal(res.status, 409, action);
      }
      assert.deepEqual(await decisions(orderId), []);
      assert.equal(await decisionCalls(orderId), 0);
    });
  });
});
