/**
 * In Chromium, with Stripe: a customer places an order, follows the order page's Pay now link to
 * the hosted payment page (the wire fake's), pays there, and comes back to watch the bar reach
 * 100 %. A card that needs 3-D Secure passes its challenge; a declined card or a failed challenge
 * leaves the page open and the order waiting, its page saying why, with the way back to the shop; a
 * SEPA debit shows "processing" until the bank settles it (succeeded: 100 %; failed: not paid, stock
 * back); a page left to expire ends the order with its stock back; an order over the approval
 * threshold is only authorised, captured once approved, released once rejected. Webhooks reach the
 * web signed, as Stripe's do.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { launchBrowser, watchProblems } from "./helpers/browser.ts";
import {
  CARD_3DS,
  CARD_DECLINED,
  CARD_SUCCEEDS,
  IBAN_FAILS,
  IBAN_SUCCEEDS,
  startFakeStripe,
  type FakeStripeServer,
} from "../scripts/stack/local-stripe/server.ts";
import { createOrdersClient } from "../web/adapters/orders-client.ts";
import { deliverWebhooksTo, stripeEnv } from "./helpers/stripe-checkout.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";

describe("paying on Stripe's page, in Chromium", () => {
  let stack: TestStack;
  let fake: FakeStripeServer;
  let browser: Browser;

  before(async () => {
    fake = await startFakeStripe();
    stack = await startTestStack("browser-checkout", {
      web: true,
      env: { ...stripeEnv(fake), SHIPPING_DELAY_MS: "0", APPROVAL_THRESHOLD_CENTS: "15000" },
    });
    deliverWebhooksTo(fake, stack);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
    await fake?.stop();
  });

  /** Places an order through the form and waits on its page until it offers the payment page. */
  const placeOrder = async (page: Page, email: string, sku = "MUG-QUAY", quantity = 1) => {
    await page.goto(`${stack.webUrl}/orders/new`);
    assert.equal(await page.locator("#paymentMethod").count(), 0, "no payment field: the card is entered on Stripe's page");
    await page.fill(`#qty-${sku}`, String(quantity));
    await page.fill("#email", email);
    await page.getByRole("button", { name: "Place order" }).click();
    await page.waitForURL(/\/orders\/[0-9a-f-]{36}$/);
    await page.locator('.progress-panel[data-step="awaiting_payment"]').waitFor({ timeout: 20_000 });
    return page.url().split("/").at(-1) ?? "";
  };

  it("a card that needs 3-D Secure pays through the hosted page, and the bar reaches 100 %", async () => {
    const page = await browser.newPage();
    const problems = watchProblems(page);
    const orderId = await placeOrder(page, "browser-3ds@example.com");
    await page.getByRole("link", { name: "Pay now" }).click();
    await page.waitForURL(new RegExp(`^${fake.url}/c/pay/`));
    await page.getByLabel("Card number").fill(CARD_3DS);
    await page.getByRole("button", { name: "Pay", exact: true }).click();
    await page.getByRole("button", { name: "Complete authentication" }).click();
    await page.waitForURL(`${stack.webUrl}/orders/${orderId}?paid=1`);
    await page.locator('.progress-panel[data-step="fulfilled"]').waitFor({ timeout: 20_000 });
    assert.equal(await page.locator("#order-progress").getAttribute("value"), "100");
    assert.equal(fake.ledgerOf(orderId).charges.length, 1);
    assert.deepEqual(problems, []);
    await page.close();
  });

  it("a declined card: Stripe's page says so and stays open; back in the shop the order still waits to be paid", async () => {
    const page = await browser.newPage();
    const orderId = await placeOrder(page, "browser-declined@example.com");
    await page.getByRole("link", { name: "Pay now" }).click();
    await page.getByLabel("Card number").fill(CARD_DECLINED);
    await page.getByRole("button", { name: "Pay", exact: true }).click();
    await page.getByText("Your card was declined.").waitFor();
    await page.getByRole("link", { name: "Back to the shop" }).click();
    await page.waitForURL(`${stack.webUrl}/orders/${orderId}`);
    await page.locator('.progress-panel[data-step="awaiting_payment"]').waitFor();
    // The decline's webhook wakes the order, which asks Stripe: its page says why.
    await page
      .locator(".progress-message", {
        hasText: "Your card was declined. Try again, or another card, on the secure payment page.",
      })
      .waitFor();
    assert.equal(await page.getByRole("link", { name: "Pay now" }).count(), 1, "the customer may try another card");
    assert.deepEqual(fake.ledgerOf(orderId).charges, []);
    await page.close();
  });

  /** Follows Pay now to the hosted page. */
  const toPaymentPage = async (page: Page) => {
    await page.getByRole("link", { name: "Pay now" }).click();
    await page.waitForURL(new RegExp(`^${fake.url}/c/pay/`));
  };
  const sessionOf = (orderId: string) => {
    const s = fake.ledgerOf(orderId).checkoutSessions[0];
    assert.ok(s, "the order's payment page");
    return s;
  };

  it("a failed 3-D Secure challenge: the order page says why, and another card pays", async () => {
    const page = await browser.newPage();
    const orderId = await placeOrder(page, "browser-3ds-failed@example.com");
    await toPaymentPage(page);
    await page.getByLabel("Card number").fill(CARD_3DS);
    await page.getByRole("button", { name: "Pay", exact: true }).click();
    await page.getByRole("button", { name: "Fail authentication" }).click();
    await page.getByText("We are unable to authenticate your payment method.").waitFor();
    await page.getByRole("link", { name: "Back to the shop" }).click();
    await page
      .locator(".progress-message", { hasText: /We are unable to authenticate your payment method.*Try again, or another card/ })
      .waitFor();
    await toPaymentPage(page);
    await page.getByLabel("Card number").fill(CARD_SUCCEEDS);
    await page.getByRole("button", { name: "Pay", exact: true }).click();
    await page.locator('.progress-panel[data-step="fulfilled"]').waitFor({ timeout: 20_000 });
    assert.equal(fake.ledgerOf(orderId).charges.length, 1);
    await page.close();
  });

  it("a SEPA debit shows processing until the bank settles it: succeeded reaches 100 %, failed ends unpaid with the stock back", async () => {
    const stock = async () => Number((await stack.db.query("SELECT stock FROM products WHERE sku = 'MUG-QUAY'")).rows[0]?.stock);
    for (const [iban, end] of [
      [IBAN_SUCCEEDS, "fulfilled"],
      [IBAN_FAILS, "rejected"],
    ] as const) {
      const before = await stock();
      const page = await browser.newPage();
      const orderId = await placeOrder(page, `browser-sepa-${end}@example.com`);
      await toPaymentPage(page);
      await page.getByLabel("IBAN").fill(iban);
      await page.getByRole("button", { name: "Authorise the debit" }).click();
      await page.waitForURL(`${stack.webUrl}/orders/${orderId}?paid=1`);
      await page.locator('.progress-panel[data-step="payment_processing"]').waitFor({ timeout: 20_000 });
      fake.settleAsync(sessionOf(orderId).id);
      await page.locator(`.progress-panel[data-step="${end}"]`).waitFor({ timeout: 20_000 });
      if (end === "rejected") {
        await page
          .getByText(/Payment not completed/)
          .first()
          .waitFor();
        assert.equal(await stock(), before, "the stock is back");
        assert.deepEqual(fake.ledgerOf(orderId).charges, []);
      } else assert.equal(fake.ledgerOf(orderId).charges.length, 1);
      await page.close();
    }
  });

  it("a payment page left to expire ends the order unpaid, and its stock is back", async () => {
    const stock = async () => Number((await stack.db.query("SELECT stock FROM products WHERE sku = 'MUG-QUAY'")).rows[0]?.stock);
    const before = await stock();
    const page = await browser.newPage();
    const orderId = await placeOrder(page, "browser-expired@example.com");
    assert.equal(await stock(), before - 1, "held while the page is open");
    assert.ok(fake.expire(sessionOf(orderId).id));
    await page.locator('.progress-panel[data-step="rejected"]').waitFor({ timeout: 20_000 });
    await page.getByText("the payment page expired before the order was paid").first().waitFor();
    assert.equal(await page.getByRole("link", { name: "Pay now" }).count(), 0);
    assert.equal(await stock(), before);
    await page.close();
  });

  it("an order that needs approval is only authorised on the page: captured once approved, released once rejected", async () => {
    const orders = createOrdersClient({ ingressUrl: stack.services.restate.ingressUrl });
    for (const decision of ["approve", "reject"] as const) {
      const page = await browser.newPage();
      const orderId = await placeOrder(page, `browser-approval-${decision}@example.com`, "LAMP-HARBOUR", 2);
      await toPaymentPage(page);
      await page.getByLabel("Card number").fill(CARD_SUCCEEDS);
      await page.getByRole("button", { name: "Pay", exact: true }).click();
      await page.locator('.progress-panel[data-step="awaiting_approval"]').waitFor({ timeout: 20_000 });
      assert.equal(fake.ledgerOf(orderId).paymentIntents[0]?.status, "requires_capture", "authorised, not taken");
      assert.deepEqual(fake.ledgerOf(orderId).charges, []);
      assert.equal((await orders.control(orderId, decision, "checked", "rita")).accepted, true);
      await page
        .locator(`.progress-panel[data-step="${decision === "approve" ? "fulfilled" : "rejected"}"]`)
        .waitFor({ timeout: 20_000 });
      if (decision === "approve")
        assert.deepEqual(
          fake.ledgerOf(orderId).charges.map((c) => c.amount),
          [17800],
        );
      else {
        assert.deepEqual(fake.ledgerOf(orderId).charges, []);
        assert.equal(fake.ledgerOf(orderId).paymentIntents[0]?.status, "canceled", "the hold is released");
      }
      await page.close();
    }
  });
});
