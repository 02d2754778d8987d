/**
 * Stripe refusing our API key is the shop's problem, not the customer's: the worker runs with a
 * key the (fake) Stripe does not know. Each refusal is counted on the worker's metrics and in the
 * operators' banner on /ops and on the order's actions page; the order still fails once its
 * payment step's budget is spent. The banner ends after a quiet quarter of an hour, a refusal
 * after a quiet spell starts its count again, and a banner that cannot be read leaves the pages
 * working. What the banner says for a 403, and that it escapes Stripe's words, needs no stack.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { HOSTED_PAYMENT } from "../shared/order.schema.ts";
import { createOrdersClient } from "../web/adapters/orders-client.ts";
import type { ProviderAlert } from "../web/adapters/provider-alerts-read.repo.ts";
import { providerAlertBanner, providerAlertText } from "../web/views/ops.view.ts";
import { startFakeStripe, type FakeStripeServer } from "../scripts/stack/local-stripe/server.ts";
import { waitUntil, type BrowserClient } from "./helpers/browser-client.ts";
import { addOperator, signInOperator } from "./helpers/operators.ts";
import { orderDriver } from "./helpers/order-driver.ts";
import { stripeEnv } from "./helpers/stripe-checkout.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";

const WRONG_KEY = "sk_test_revoked_key_that_must_never_be_shown_4f2a";
const OPERATOR = "rita";
const OPS_PASSWORD = "a long operator password for alerts";

/** The banner's paragraphs in a page. */
const bannersIn = (page: string) => page.match(/<p class="form-error provider-alert"[\s\S]*?<\/p>/g) ?? [];

describe("Stripe refusing our API key", () => {
  let stack: TestStack;
  let fake: FakeStripeServer;
  let orders: ReturnType<typeof createOrdersClient>;
  let operator: BrowserClient;

  before(async () => {
    fake = await startFakeStripe();
    stack = await startTestStack("payment-provider-alerts", {
      web: true,
      // Two attempts per payment step: the order gives up quickly.
      env: { ...stripeEnv(fake), STRIPE_SECRET_KEY: WRONG_KEY, PAYMENT_RETRY_LIMIT: "2" },
    });
    orders = createOrdersClient({ ingressUrl: stack.services.restate.ingressUrl });
    await addOperator(stack.env, OPERATOR, OPS_PASSWORD);
    operator = await signInOperator(stack.webUrl, OPERATOR, OPS_PASSWORD);
  });
  after(async () => {
    await stack?.stop();
    await fake?.stop();
  });

  const { q, place } = orderDriver(
    () => stack,
    () => orders,
  );
  const failedOrder = async (email: string) => {
    const orderId = await place(email, HOSTED_PAYMENT, [{ sku: "MUG-QUAY", quantity: 1 }]);
    await waitUntil(
      "the order failed, as operators see it",
      async () => (await q("SELECT status FROM orders WHERE id = $1", [orderId]))[0]?.status === "failed",
    );
    return orderId;
  };
  /** The worker's count of 401s from Stripe, from its metrics endpoint (0 before the first). */
  const refusalsCounted = async () => {
    const res = await fetch(`http://127.0.0.1:${stack.ports.workerMetrics}/metrics`);
    assert.equal(res.status, 200);
    const m = /^quayside_payment_provider_auth_failures_total\{provider="stripe",status="401"\} (\d+)$/m.exec(await res.text());
    return Number(m?.[1] ?? 0);
  };
  const alertRow = async () =>
    (
      await q(
        "SELECT status, count::int AS count, message, first_at, last_at FROM provider_alerts WHERE provider = 'stripe' AND kind = 'auth'",
      )
    )[0];

  it("fails the order, counts each refusal, and tells operators on /ops and on the order's page", async () => {
    const orderId = await failedOrder("alerts-refused@example.com");
    const refusedByStripe = fake.requests.filter((r) => r.status === 401).length;
    assert.ok(refusedByStripe >= 2, `Stripe refused each attempt (${refusedByStripe})`);
    assert.ok(fake.ledgerOf(orderId).checkoutSessions.length === 0, "no payment page was ever opened");

    const counted = await refusalsCounted();
    assert.ok(counted >= 1, "the metric counts the refusals");
    assert.equal(counted, refusedByStripe, "one count per refusal Stripe answered");
    // The row is written beside the step, not in it: wait until it has every refusal.
    const row = await waitUntil("the alert row with every refusal", async () => {
      const r = await alertRow();
      return r?.count === counted ? r : null;
    });
    assert.equal(row.status, 401);
    assert.equal(row.message, "Invalid API Key provided.");

    const lastAt = (row.last_at as Date).toISOString().slice(11, 16);
    const expected = new RegExp(
      `>Stripe refused our API key \\(HTTP 401\\) ${counted} times since [0-9: -]+ UTC, last at ${lastAt} UTC: ` +
        "payments cannot be taken until STRIPE_SECRET_KEY is fixed\\.",
    );
    for (const pagePath of ["/ops", `/ops/orders/${orderId}/actions`]) {
      const page = await operator.get(pagePath);
      assert.equal(page.status, 200, pagePath);
      const banners = bannersIn(page.html);
      assert.equal(banners.length, 1, `one banner on ${pagePath}`);
      assert.match(banners[0], /role="alert"/);
      assert.match(banners[0], expected);
      assert.match(banners[0], /Its last answer: “Invalid API Key provided\.”/);
      assert.ok(!page.html.includes(WRONG_KEY) && !page.html.includes(fake.secretKey), `${pagePath} shows no key`);
      // At the top: before anything else the page says.
      assert.ok(page.html.indexOf(banners[0]) < page.html.indexOf("<h1"), `the banner opens ${pagePath}`);
    }
    assert.match((await operator.get(`/ops/orders/${orderId}/actions`)).html, /data-status="failed"/);
  });

  it("ends after a quiet quarter of an hour, and a refusal after a quiet spell counts afresh", async () => {
    await q("UPDATE provider_alerts SET first_at = now() - interval '3 hours', last_at = now() - interval '2 hours'");
    assert.deepEqual(bannersIn((await operator.get("/ops")).html), [], "an old alert is not shown");

    const before = await refusalsCounted();
    await failedOrder("alerts-again@example.com");
    const counted = await refusalsCounted();
    assert.ok(counted > before);
    const row = await waitUntil("the alert row of the new spell", async () => {
      const r = await alertRow();
      return r?.count === counted - before ? r : null;
    });
    assert.ok(Date.now() - row.first_at.getTime() < 10 * 60_000, "the spell started with this order");
    assert.equal(bannersIn((await operator.get("/ops")).html).length, 1);
  });

  it("a banner that cannot be read leaves the pages working, without it", async () => {
    await q("ALTER TABLE provider_alerts RENAME TO provider_alerts_hidden");
    try {
      const page = await operator.get("/ops");
      assert.equal(page.status, 200);
      assert.match(page.html, /<h1>Operations<\/h1>/);
      assert.deepEqual(bannersIn(page.html), []);
      await waitUntil("the warning in the web's log", () =>
        readFileSync(path.join(stack.logDir, "web.log"), "utf8").includes("could not read provider alerts"),
      );
    } finally {
      await q("ALTER TABLE provider_alerts_hidden RENAME TO provider_alerts");
    }
    assert.equal(bannersIn((await operator.get("/ops")).html).length, 1, "back once it can be read");
  });
});

describe("the provider alert banner", () => {
  const alert = (over: Partial<ProviderAlert> = {}): ProviderAlert => ({
    provider: "stripe",
    kind: "auth",
    status: 401,
    message: "Invalid API Key provided.",
    count: 7,
    firstAt: "2025-03-04T18:40:12.000Z",
    lastAt: "2025-03-04T19:02:59.000Z",
    ...over,
  });

  it("says what Stripe refused: the key (401), or a permission the key lacks (403)", () => {
    const key = providerAlertText(alert());
    assert.equal(
      key,
      "Stripe refused our API key (HTTP 401) 7 times since 18:40 UTC, last at 19:02 UTC: payments cannot be taken until STRIPE_SECRET_KEY is fixed.",
    );
    const permission = providerAlertText(alert({ status: 403, count: 1 }));
    assert.notEqual(permission, key);
    assert.match(permission, /^Stripe refused a request our API key has no permission for \(HTTP 403\) once since 18:40 UTC/);
    assert.doesNotMatch(permission, /refused our API key \(/);
    assert.match(
      providerAlertText(alert({ firstAt: "2025-03-03T23:10:00.000Z" })),
      /since 2025-03-03 23:10 UTC, last at 19:02 UTC/,
    );
  });

  it("is an alert, escapes the provider's words, and is nothing without alerts", () => {
    const banner = providerAlertBanner([alert({ message: `<img src=x onerror="alert(1)">` })]).value;
    assert.match(banner, /^<p class="form-error provider-alert" role="alert"/);
    assert.ok(banner.includes("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"), banner);
    assert.ok(!banner.includes("<img"));
    assert.equal(providerAlertBanner([]).value, "");
  });
});
