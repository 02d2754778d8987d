/**
 * An operator cancels, ships now or refunds an order through the web app (real Restate,
 * PostgreSQL, Valkey, SMTP catcher): operators only (403), CSRF, 422 for a missing reason or a
 * stale form, 409 with the reason for an order the action does not fit, 404 for an unknown order;
 * and what the customer sees afterwards: the order's page, its timeline and the email, each saying
 * the shop did it. Orders wait a day to ship, so each stays "confirmed" until the test cancels it
 * or ships it with the operator's "Ship now".
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { TEST_CALL_TIMEOUT_MS } from "./helpers/call-timeout.ts";
import { BrowserClient, extract, postOrderForm, waitUntil } from "./helpers/browser-client.ts";
import { startInProcessWeb, type InProcessWeb } from "./helpers/in-process-web.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";
import { addOperator, signInOperator } from "./helpers/operators.ts";
import { createOrdersClient } from "../web/adapters/orders-client.ts";

const OPS_PASSWORD = "order desk password";
const OPERATOR = "otto";

describe("operators acting on an order", () => {
  let stack: TestStack;
  let web: InProcessWeb;
  let operator: BrowserClient;

  before(async () => {
    stack = await startTestStack("ops-order-actions", { env: { SHIPPING_DELAY_MS: "86400000" } });
    await addOperator(stack.env, OPERATOR, OPS_PASSWORD);
    web = await startInProcessWeb(stack.env);
    operator = await signInOperator(web.url, OPERATOR, OPS_PASSWORD);
  });
  after(async () => {
    await web?.close();
    await stack?.stop();
  });

  const statusOf = async (id: string) => (await stack.db.query("SELECT status FROM orders WHERE id = $1", [id])).rows[0]?.status;
  const mailsTo = (email: string) => stack.services.mail.messages.filter((m) => m.envelopeTo.includes(email));
  async function order(email: string, customer = new BrowserClient(web.url)) {
    const placed = await postOrderForm(customer, { email, quantities: { "MUG-QUAY": "1" } });
    assert.equal(placed.status, 303);
    await waitUntil("the order's row", async () => (await statusOf(placed.orderId)) !== undefined);
    return { orderId: placed.orderId, customer };
  }
  /** The operator's "Ship now", then the order fulfilled. */
  async function shipNow(orderId: string) {
    await confirmed(orderId);
    const res = await operator.postForm(`/ops/orders/${orderId}/dispatch`, await actionForm(orderId, "dispatch"));
    assert.equal(res.status, 303);
    await waitUntil("fulfilment", async () => (await statusOf(orderId)) === "fulfilled");
  }
  // The workflow's own snapshot, which its controls read: it is written just after the row says "confirmed".
  const confirmed = (id: string) =>
    waitUntil(
      "the order in its shipping wait",
      async () =>
        (await createOrdersClient({ ingressUrl: stack.services.restate.ingressUrl, timeoutMs: TEST_CALL_TIMEOUT_MS }).status(id))
          .step === "confirmed",
    );
  /** The action form on the operator's page: its fields (CSRF token, and the refund's request id). */
  async function actionForm(orderId: string, action: "cancel" | "refund" | "dispatch") {
    const page = await operator.get(`/ops/orders/${orderId}/actions`);
    assert.equal(page.status, 200);
    const form = new RegExp(`<form[^>]*data-action="${action}"[\\s\\S]*?</form>`).exec(page.html)?.[0];
    assert.ok(form, `no ${action} form on the page (status ${/data-status="([a-z_]+)"/.exec(page.html)?.[1]})`);
    return { _csrf: extract(form, "_csrf"), ...(action === "refund" ? { requestId: extract(form, "requestId") } : {}) };
  }

  it("is for operators only (403), needs the CSRF token (403), and knows only real orders (404)", async () => {
    const { orderId } = await order("actions-guard@example.com");
    const stranger = new BrowserClient(web.url);
    assert.equal((await stranger.get(`/ops/orders/${orderId}/actions`)).status, 403);
    const csrf = extract((await stranger.get("/orders/new")).html, "_csrf");
    const refused = await stranger.postForm(`/ops/orders/${orderId}/cancel`, { _csrf: csrf, reason: "prank" });
    assert.equal(refused.status, 403);
    assert.match(refused.html, /Sign in as an operator first/);
    assert.equal((await stranger.postForm(`/ops/orders/${orderId}/refund`, { _csrf: csrf, reason: "prank" })).status, 403);
    assert.equal((await operator.postForm(`/ops/orders/${orderId}/cancel`, { reason: "no token" })).status, 403);
    const { _csrf } = await actionForm(orderId, "cancel");
    assert.equal((await operator.get("/ops/orders/01930000-0000-7000-8000-000000000000/actions")).status, 404);
    assert.equal((await operator.postForm("/ops/orders/not-an-id/refund", { _csrf, reason: "x" })).status, 404);
    assert.equal((await stranger.postForm(`/ops/orders/${orderId}/dispatch`, { _csrf: csrf })).status, 403);
    assert.equal((await operator.postForm(`/ops/orders/${orderId}/dispatch`, {})).status, 403);
    assert.equal((await operator.postForm("/ops/orders/not-an-id/dispatch", { _csrf })).status, 404);
    // None of the refused requests moved the order: it still waits to ship.
    await confirmed(orderId);
  });

  it("answers a missing reason or a stale refund form with 422, and an action that does not fit with 409", async () => {
    const { orderId } = await order("actions-input@example.com");
    await confirmed(orderId);
    const cancel = await actionForm(orderId, "cancel");
    const blank = await operator.postForm(`/ops/orders/${orderId}/cancel`, { ...cancel, reason: "  " });
    assert.equal(blank.status, 422);
    assert.match(blank.html, /Give a reason: the customer sees it\./);
    const long = await operator.postForm(`/ops/orders/${orderId}/cancel`, { ...cancel, reason: "x".repeat(201) });
    assert.equal(long.status, 422);
    assert.match(long.html, /At most 200 characters/);
    // Not fulfilled yet: no refund form on the page, and a posted one is refused with the reason.
    const early = await operator.postForm(`/ops/orders/${orderId}/refund`, {
      ...cancel,
      requestId: "01930000-0000-7000-8000-0000000000aa",
      reason: "too early",
    });
    assert.equal(early.status, 409);
    assert.match(early.html, /Only a fulfilled order can be refunded; this one is confirmed\./);
    await shipNow(orderId);
    const refund = await actionForm(orderId, "refund");
    const stale = await operator.postForm(`/ops/orders/${orderId}/refund`, { ...refund, requestId: "nope", reason: "ok" });
    assert.equal(stale.status, 422);
    assert.match(stale.html, /reload the page/);
    const late = await operator.postForm(`/ops/orders/${orderId}/cancel`, { ...cancel, reason: "too late" });
    assert.equal(late.status, 409);
    assert.match(late.html, /already shipped or finished; it can no longer be cancelled/);
    assert.equal(await statusOf(orderId), "fulfilled");
  });

  it("cancels before shipping: the row, the customer's timeline and email say the shop did it", async () => {
    const { orderId, customer } = await order("actions-cancel@example.com");
    await confirmed(orderId);
    const res = await operator.postForm(`/ops/orders/${orderId}/cancel`, {
      ...(await actionForm(orderId, "cancel")),
      reason: "out of glaze",
    });
    assert.equal(res.status, 303);
    assert.equal(res.res.headers.get("location"), `/ops/orders/${orderId}/actions?done=cancel`);
    await waitUntil("cancellation", async () => (await statusOf(orderId)) === "cancelled", 20_000);
    const reason = "Cancelled by the shop (otto): out of glaze";
    const row = (await stack.db.query("SELECT status_reason FROM orders WHERE id = $1", [orderId])).rows[0];
    assert.equal(row.status_reason, reason);
    // The row is written before the step's events reach Valkey: the timeline follows the stream.
    await waitUntil("the customer's timeline to say the shop cancelled", async () =>
      /data-step="cancelled"[^>]*>.*Cancelled by the shop \(otto\): out of glaze/.test(
        (await customer.get(`/orders/${orderId}`)).html,
      ),
    );
    const mail = await waitUntil("the cancellation email", () =>
      mailsTo("actions-cancel@example.com").find((m) => m.subject.startsWith("Order cancelled")),
    );
    assert.match(mail.text ?? "", /Reason: Cancelled by the shop \(otto\): out of glaze/);
    assert.match(mail.text ?? "", /We refunded €14\.00/);
  });

  it("ships an order in its shipping wait now: the customer's timeline and the shipped email say so; a finished order is refused", async () => {
    const email = "actions-ship@example.com";
    const { orderId, customer } = await order(email);
    await confirmed(orderId);
    const form = await actionForm(orderId, "dispatch");
    const res = await operator.postForm(`/ops/orders/${orderId}/dispatch`, form);
    assert.equal(res.status, 303);
    assert.equal(res.res.headers.get("location"), `/ops/orders/${orderId}/actions?done=dispatch`);
    await waitUntil("fulfilment", async () => (await statusOf(orderId)) === "fulfilled");
    const mail = await waitUntil("the shipped email", () => mailsTo(email).find((m) => m.subject.startsWith("Order shipped")));
    assert.match(mail.text ?? "", /your order is on its way/);
    const page = await customer.get(`/orders/${orderId}`);
    assert.match(page.html, /data-step="shipped"[^>]*>.*Shipped by the shop \(otto\)/);

    const done = await operator.get(`/ops/orders/${orderId}/actions`);
    assert.doesNotMatch(done.html, /data-action="dispatch"/, "no Ship now on a fulfilled order");
    const late = await operator.postForm(`/ops/orders/${orderId}/dispatch`, form);
    assert.equal(late.status, 409);
    assert.match(late.html, /This order is not waiting to ship: it cannot be shipped now\./);
    assert.equal(mailsTo(email).filter((m) => m.subject.startsWith("Order shipped")).length, 1);
  });

  it("refunds a fulfilled order once: the customer's page and email say so; a second refund is refused", async () => {
    const { orderId, customer } = await order("actions-refund@example.com");
    await shipNow(orderId);
    const form = await actionForm(orderId, "refund");
    const [first, again] = await Promise.all([
      operator.postForm(`/ops/orders/${orderId}/refund`, { ...form, reason: "arrived chipped" }),
      operator.postForm(`/ops/orders/${orderId}/refund`, { ...form, reason: "arrived chipped" }),
    ]);
    assert.equal(first.status, 303);
    assert.equal(again.status, 303, "a double submit is the same request, with the same answer");
    const done = await operator.get(first.res.headers.get("location") ?? "");
    assert.match(done.html, /Refunded: the customer/);
    assert.match(done.html, /data-status="refunded"/);
    assert.doesNotMatch(done.html, /data-action="refund"/);
    const ledger = await stack.db.query("SELECT amount_cents FROM payments WHERE order_id = $1 AND kind = 'refund'", [orderId]);
    assert.deepEqual(ledger.rows, [{ amount_cents: 1400 }]);

    const second = await operator.postForm(`/ops/orders/${orderId}/refund`, {
      ...form,
      requestId: "01930000-0000-7000-8000-0000000000bb",
      reason: "again",
    });
    assert.equal(second.status, 409);
    assert.match(second.html, /This order has already been refunded\./);

    const page = await customer.get(`/orders/${orderId}`);
    assert.match(page.html, /<strong>Refunded<\/strong> Refunded by the shop \(otto\): arrived chipped/);
    const steps = [...page.html.matchAll(/<li class="event[^"]*" data-seq="\d+" data-step="([a-z_]+)"/g)].map((m) => m[1]);
    assert.deepEqual(steps.slice(-2), ["fulfilled", "refunded"]);
    const mail = await waitUntil("the refund email", () =>
      mailsTo("actions-refund@example.com").find((m) => m.subject.startsWith("Order refunded")),
    );
    assert.match(mail.text ?? "", /Refunded by the shop: we refunded €14\.00/);
  });
});
