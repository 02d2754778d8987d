/**
 * The operator console's door, against the real stack: signed out, /ops is the sign-in form and
 * every operator route the app's routers declare is refused, to a stranger and to a signed-in
 * customer alike, with nothing written; a wrong or malformed name or password is refused without
 * echoing it; the order list's bad filters and page cursors are a 4xx with a reason; signing out
 * ends the session's rights.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { v7 as uuidv7 } from "uuid";
import { isOperatorPath } from "../web/operators/operator-gate.ts";
import { BrowserClient } from "./helpers/browser-client.ts";
import { routeName } from "./helpers/route-params.ts";
import { headerProblems, inlineCodeProblems } from "./helpers/security-checks.ts";
import { OPS_NAME, OPS_PASSWORD, PAYLOAD, startSecurityFixture, type SecurityFixture } from "./helpers/security-fixture.ts";

/** Signing in and out: the only operator routes open to anyone. Written here, not read from the gate, so a new exemption fails this test. */
const OPEN_ROUTES = new Set(["POST /ops/login", "POST /ops/logout"]);

describe("web security: operator routes", () => {
  let f: SecurityFixture;
  before(async () => {
    f = await startSecurityFixture("security-operator-routes");
  });
  after(async () => {
    await f?.close();
  });

  it("without signing in, /ops shows only the sign-in form and every ops action is 403", async () => {
    const { orderId } = f;
    const stranger = new BrowserClient(f.web.url);
    for (const path of ["/ops", "/ops?done=approve", "/ops/"]) {
      const page = await stranger.get(path);
      assert.equal(page.status, 200, path);
      assert.match(page.html, /Operator sign-in/, path);
      assert.doesNotMatch(page.html, /Awaiting approval|All orders|alice@security\.example|action="\/ops\/orders/, path);
    }
    const csrf = await f.tokenOf(stranger, "/ops");
    for (const action of ["approve", "reject"]) {
      const res = await stranger.postForm(`/ops/orders/${orderId}/${action}`, { _csrf: csrf });
      assert.equal(res.status, 403, action);
      assert.match(res.html, /Sign in as an operator first/);
      assert.equal((await stranger.get(`/ops/orders/${orderId}/${action}`)).status >= 400, true, `GET ${action}`);
    }
    for (const path of ["/ops/overview", "/ops/events", "/ops/events?topics=approvals"]) {
      const res = await stranger.get(path, { accept: "text/event-stream, text/html" });
      assert.equal(res.status, 403, path);
      assert.doesNotMatch(res.html, /alice@security\.example|ops-approvals|event: /, path);
    }
    assert.equal(
      (await stranger.postForm("/ops/logout", { _csrf: csrf })).status,
      303,
      "signing out when not signed in is harmless",
    );
    assert.match((await stranger.get("/ops")).html, /Operator sign-in/);
  });

  it("every operator route the routers declare refuses a customer's session, with her own token, and nothing is written", async () => {
    const { alice } = f;
    const routes = f.web.routes().filter((r) => isOperatorPath(r.path) && !OPEN_ROUTES.has(routeName(r)));
    for (const known of ["GET /ops", "GET /ops/events", "POST /ops/orders/:id/approve", "POST /ops/stock/:sku"])
      assert.ok(routes.map(routeName).includes(known), `${known} is read from the routers`);
    const csrf = await f.tokenOf(alice, "/ops");
    const before = await f.writes();
    for (const route of routes) {
      for (const path of f.pathsOf(route)) {
        const what = `${routeName(route)} (${path}) as a customer`;
        if (route.method === "GET") {
          const res = await alice.request(path, { headers: { accept: "text/html" } });
          const html = await res.text();
          // The console's front door shows the sign-in form; every other page is a 403 offering it.
          assert.equal(res.status, path === "/ops" ? 200 : 403, what);
          assert.match(html, /Operator sign-in/, what);
          assert.doesNotMatch(html, /Signed in as|alice@security\.example/, what);
        } else {
          const res = await alice.postForm(path, { ...f.formFor(route), _csrf: csrf });
          assert.equal(res.status, 403, what);
          assert.match(res.html, /Sign in as an operator first/, what);
        }
      }
    }
    assert.deepEqual(await f.writes(), before, "nothing was written by any refused request");
  });

  it("a wrong password or name is 401 with the form again, and the password is never echoed", async () => {
    for (const [name, password] of [
      [OPS_NAME, "ops-dev-password"],
      [OPS_NAME, OPS_PASSWORD.toUpperCase()],
      [OPS_NAME, `${OPS_PASSWORD} `],
      [OPS_NAME, OPS_PASSWORD.slice(0, -1)],
      ["ops", "ops-dev-password"],
      ["someone-else", OPS_PASSWORD],
    ] as const) {
      const stranger = new BrowserClient(f.web.url); // five sign-in attempts a minute per session
      const res = await stranger.postForm("/ops/login", { _csrf: await f.tokenOf(stranger, "/ops"), name, password });
      assert.equal(res.status, 401, JSON.stringify([name, password]));
      assert.match(res.html, /Wrong name or password/);
      assert.ok(!res.html.includes(password.trim()), "not echoed");
      assert.doesNotMatch(res.html, /type="password"[^>]*value=/);
    }
    // Missing or malformed fields: 422 with a message per field, still without the password.
    const another = new BrowserClient(f.web.url);
    const anotherCsrf = await f.tokenOf(another, "/ops");
    for (const [fields, field] of [
      [{ name: OPS_NAME, password: "" }, "password"],
      [{ name: "", password: OPS_PASSWORD }, "name"],
      [{ name: "a", password: OPS_PASSWORD }, "name"],
      [{ name: OPS_NAME, password: "x".repeat(1025) }, "password"],
      [{ password: OPS_PASSWORD }, "name"],
    ] as const) {
      const res = await another.postForm("/ops/login", { _csrf: anotherCsrf, ...fields });
      assert.equal(res.status, 422, JSON.stringify(fields).slice(0, 80));
      assert.match(res.html, new RegExp(`id="${field}-error"`));
      assert.ok(!res.html.includes(OPS_PASSWORD), "not echoed");
    }
  });

  it("the order list's filter, search and page cursor: bad input is a 4xx with a reason, never a 5xx", async () => {
    const { operator, orderId } = f;
    const status = String((await f.one("SELECT status FROM orders WHERE id = $1", [orderId]))?.status);
    const ok = await operator.get(`/ops?status=${status}&q=${encodeURIComponent("Alice@Security.example")}`);
    assert.equal(ok.status, 200);
    assert.match(ok.html, new RegExp(`<tr [^>]*data-order-id="${orderId}"`));
    const byId = await operator.get(`/ops?q=${orderId.slice(0, 13)}`);
    assert.match(byId.html, new RegExp(`<tr [^>]*data-order-id="${orderId}"`));
    const cases: Array<[string, number, RegExp]> = [
      [`/ops?q=${encodeURIComponent(PAYLOAD)}`, 422, /id="q-error"/],
      ["/ops?q=abc", 422, /at least 4 of its characters/],
      [`/ops?q=${"a".repeat(33)}`, 422, /id="q-error"/],
      [`/ops?q=${"a".repeat(300)}@x.example`, 422, /at most 254/],
      ["/ops?q=not-an@", 422, /whole email address/],
      [`/ops?status=${encodeURIComponent(PAYLOAD)}`, 422, /id="status-error">Choose one of the listed statuses/],
      ["/ops?status=constructor", 422, /id="status-error"/],
      ["/ops?status=fulfilled&status=rejected", 422, /id="status-error"/],
      ["/ops?q=a&q=b", 422, /id="q-error"/],
      ["/ops?after=nonsense", 400, /page link is not valid/],
      [`/ops?after=${encodeURIComponent(PAYLOAD)}`, 400, /page link is not valid/],
      [`/ops?after=1.${orderId}&after=2.${orderId}`, 400, /page link is not valid/],
      [`/ops?after=99999999999999999.${orderId}`, 200, /All orders/],
      [`/ops?after=123456789012345678.${orderId}`, 400, /page link is not valid/],
      [`/ops?after=-1.${orderId}`, 400, /page link is not valid/],
      [`/ops?after=1.${orderId.toUpperCase()}`, 400, /page link is not valid/],
      ["/ops?after=1.00000000-0000-0000-0000-000000000000", 200, /No order matches|No orders yet/],
      [`/ops?before=${encodeURIComponent(PAYLOAD)}`, 400, /page link is not valid/],
      [`/ops?before=1.${orderId}&before=2.${orderId}`, 400, /page link is not valid/],
      [`/ops?after=1.${orderId}&before=2.${orderId}`, 400, /page link is not valid/],
      [`/ops?before=1.${orderId}`, 200, /All orders/],
    ];
    for (const [path, status, reason] of cases) {
      for (const headers of [{}, { "hx-request": "true", "hx-boosted": "true" }] as Array<Record<string, string>>) {
        const res = await operator.get(path, headers);
        assert.equal(res.status, status, `${path}: ${res.status}`);
        assert.match(res.html, reason, path);
        assert.deepEqual(headerProblems(res.res.headers), [], path);
        assert.deepEqual(inlineCodeProblems(res.html), [], path);
        assert.ok(!res.html.includes("<img") && !res.html.includes("<svg"), `${path}: no markup from the input`);
      }
    }
    // The same page for someone not signed in is the sign-in form, whatever the query.
    const stranger = new BrowserClient(f.web.url);
    const page = await stranger.get(`/ops?after=nonsense&q=${encodeURIComponent("alice@security.example")}`);
    assert.equal(page.status, 200);
    assert.match(page.html, /Operator sign-in/);
    assert.doesNotMatch(page.html, /alice@security\.example/);
  });

  it("signing out ends the operator's rights for that session", async () => {
    const op = new BrowserClient(f.web.url);
    await f.signIn(op);
    assert.match((await op.get("/ops")).html, /Awaiting approval/);
    assert.equal((await op.postForm("/ops/logout", { _csrf: await f.tokenOf(op, "/ops") })).status, 303);
    assert.match((await op.get("/ops")).html, /Operator sign-in/);
    assert.equal((await op.get("/ops/overview")).status, 403);
    assert.equal((await op.sse("/ops/events", { timeoutMs: 3_000 })).status, 403);
    const res = await op.postForm(`/ops/orders/${uuidv7()}/approve`, { _csrf: await f.tokenOf(op, "/ops") });
    assert.equal(res.status, 403);
  });
});
