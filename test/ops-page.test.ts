/**
 * The operator page and the customer's order controls through the web app: sign-in (constant-time
 * password, rate-limited), approvals, cancel with CSRF, "My orders", and the submission rate limit.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { BrowserClient, extract, waitUntil } from "./helpers/browser-client.ts";
import { startInProcessWeb, type InProcessWeb } from "./helpers/in-process-web.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";

const OPS_PASSWORD = "correct horse battery staple";

describe("operations and order controls", () => {
  let stack: TestStack;
  let web: InProcessWeb;

  before(async () => {
    stack = await startTestStack("ops", {
      env: { APPROVAL_THRESHOLD_CENTS: "15000", SHIPPING_DELAY_MS: "1500", OPS_PASSWORD, LOGIN_RATE_LIMIT_PER_MINUTE: "5" },
    });
    web = await startInProcessWeb(stack.env);
  });
  after(async () => {
    await web?.close();
    await stack?.stop();
  });

  async function placeOrder(client: BrowserClient, qty: Record<string, string>, email = "ops@example.com") {
    const form = await client.get("/orders/new");
    const orderId = extract(form.html, "orderId");
    const fields: Record<string, string> = { _csrf: extract(form.html, "_csrf"), orderId, email, paymentMethod: "pm_card_visa" };
    for (const [sku, n] of Object.entries(qty)) fields[`qty[${sku}]`] = n;
    const res = await client.postForm("/orders", fields);
    assert.equal(res.status, 303);
    return orderId;
  }
  const orderStatus = async (id: string) =>
    (await stack.db.query("SELECT status FROM orders WHERE id = $1", [id])).rows[0]?.status;

  it("keeps the operator page behind the password, compared in constant time and rate-limited", async () => {
    const stranger = new BrowserClient(web.url);
    const page = await stranger.get("/ops");
    assert.equal(page.status, 200);
    assert.match(page.html, /Operator sign-in/);
    assert.doesNotMatch(page.html, /Awaiting approval/);
    const csrf = extract(page.html, "_csrf");
    const denied = await stranger.postForm(`/ops/orders/${"0".repeat(8)}-0000-7000-8000-000000000000/approve`, { _csrf: csrf });
    assert.equal(denied.status, 403);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++)
      statuses.push((await stranger.postForm("/ops/login", { _csrf: csrf, password: `guess-${i}` })).status);
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429]);
    const limited = await stranger.postForm("/ops/login", { _csrf: csrf, password: OPS_PASSWORD });
    assert.equal(limited.status, 429, "even the right password waits out the limit");
    assert.ok(Number(limited.res.headers.get("retry-after")) >= 1);
  });

  it("lists orders awaiting approval; an operator approves one and it is fulfilled", async () => {
    const customer = new BrowserClient(web.url);
    const orderId = await placeOrder(customer, { "LAMP-HARBOUR": "2" }, "approve-me@example.com");
    await waitUntil("approval wait", async () => (await orderStatus(orderId)) === "awaiting_approval");
    const waiting = await customer.get(`/orders/${orderId}`);
    assert.match(waiting.html, /data-status="waiting"/);
    assert.match(waiting.html, /Awaiting approval/);

    const operator = new BrowserClient(web.url);
    const login = await operator.get("/ops");
    const ok = await operator.postForm("/ops/login", { _csrf: extract(login.html, "_csrf"), password: OPS_PASSWORD });
    assert.equal(ok.status, 303);
    const dashboard = await operator.get("/ops");
    assert.match(dashboard.html, /Awaiting approval \(\d+\)/);
    assert.match(dashboard.html, new RegExp(`action="/ops/orders/${orderId}/approve"`));
    assert.match(dashboard.html, /\/ui\/invocations\/inv_/, "each order links to its invocation");
    const approved = await operator.postForm(`/ops/orders/${orderId}/approve`, { _csrf: extract(dashboard.html, "_csrf") });
    assert.equal(approved.status, 303);
    assert.equal(approved.res.headers.get("location"), "/ops?done=approve");
    await waitUntil("fulfilment", async () => (await orderStatus(orderId)) === "fulfilled");
    const again = await operator.postForm(`/ops/orders/${orderId}/approve`, { _csrf: extract(dashboard.html, "_csrf") });
    assert.equal(again.res.headers.get("location"), "/ops?done=refused");
  });

  it("lets the customer cancel with a CSRF-protected button until the order ships", async () => {
    const customer = new BrowserClient(web.url);
    const orderId = await placeOrder(customer, { "MUG-QUAY": "1" }, "cancel-web@example.com");
    const page = await waitUntil("the cancel button", async () => {
      const p = await customer.get(`/orders/${orderId}`);
      return /action="\/orders\/[^"]+\/cancel"/.test(p.html) && /data-step="confirmed"/.test(p.html) ? p : null;
    });
    const stranger = new BrowserClient(web.url);
    const strangerForm = await stranger.get("/orders/new");
    const strangerCancel = await stranger.postForm(`/orders/${orderId}/cancel`, { _csrf: extract(strangerForm.html, "_csrf") });
    assert.equal(strangerCancel.status, 404, "another session cannot even see the order");
    assert.equal((await customer.postForm(`/orders/${orderId}/cancel`, {})).status, 403, "no CSRF token");
    const cancel = await customer.postForm(`/orders/${orderId}/cancel`, { _csrf: extract(page.html, "_csrf") });
    assert.equal(cancel.status, 303);
    assert.equal(cancel.res.headers.get("location"), `/orders/${orderId}?cancel=requested`);
    await waitUntil("cancellation", async () => (await orderStatus(orderId)) === "cancelled");
    const done = await customer.get(`/orders/${orderId}?cancel=requested`);
    assert.match(done.html, /Cancellation requested/);
    assert.match(done.html, /data-status="cancelled"/);
    assert.doesNotMatch(done.html, /Cancel order/);
    const late = await customer.postForm(`/orders/${orderId}/cancel`, { _csrf: extract(page.html, "_csrf") });
    assert.equal(late.res.headers.get("location"), `/orders/${orderId}?cancel=refused`);
    const timeline = await customer.get(`/orders/${orderId}`);
    const steps = [...timeline.html.matchAll(/<li class="event[^"]*" data-seq="\d+" data-step="([a-z_]+)"/g)].map((m) => m[1]);
    assert.deepEqual(steps.slice(0, 2), ["received", "persisted"]);
    assert.equal(steps.at(-1), "cancelled");
  });

  it("shows 'My orders' for this session only", async () => {
    const alice = new BrowserClient(web.url);
    const mine = await placeOrder(alice, { "KNOT-BOOK": "1" }, "alice@example.com");
    const bob = new BrowserClient(web.url);
    await bob.get("/");
    const bobs = await bob.get("/orders");
    assert.doesNotMatch(bobs.html, new RegExp(mine));
    assert.match(bobs.html, /not placed an order from this browser/);
    const alices = await alice.get("/orders");
    assert.match(alices.html, new RegExp(`href="/orders/${mine}"`));
  });

  it("limits how fast one session can place orders (429 with Retry-After)", async () => {
    const strict = await startInProcessWeb({ ...stack.env, ORDER_RATE_LIMIT_PER_MINUTE: "2" });
    try {
      const client = new BrowserClient(strict.url);
      await placeOrder(client, { "KNOT-BOOK": "1" }, "fast@example.com");
      await placeOrder(client, { "KNOT-BOOK": "1" }, "fast@example.com");
      const form = await client.get("/orders/new");
      const third = await client.postForm("/orders", {
        _csrf: extract(form.html, "_csrf"),
        orderId: extract(form.html, "orderId"),
        email: "fast@example.com",
        paymentMethod: "pm_card_visa",
        "qty[KNOT-BOOK]": "1",
      });
      assert.equal(third.status, 429);
      assert.match(third.html, /placing orders too quickly/);
      assert.ok(Number(third.res.headers.get("retry-after")) >= 1);
    } finally {
      await strict.close();
    }
  });
});
