/**
 * In Chromium, with Stripe: a customer places an order, follows the order page's Pay now link to
 * the hosted payment page (the wire fake's), pays there, and comes back to watch the bar reach
 * 100 %. A card that needs 3-D Secure passes its challenge; a declined card leaves the page open and
 * the order waiting, with the way back to the shop. Webhooks reach the web signed, as Stripe's do.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { launchBrowser, watchProblems } from "./helpers/browser.ts";
import { CARD_3DS, CARD_DECLINED, startFakeStripe, type FakeStripeServer } from "../scripts/stack/local-stripe/server.ts";
import { deliverWebhooksTo, stripeEnv } from "./helpers/stripe-checkout.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";

describe("paying on Stripe's page, in Chromium", () => {
  let stack: TestStack;
  let fake: FakeStripeServer;
  let browser: Browser;

  before(async () => {
    fake = await startFakeStripe();
    stack = await startTestStack("browser-checkout", { web: true, env: { ...stripeEnv(fake), SHIPPING_DELAY_MS: "0" } });
    deliverWebhooksTo(fake, stack);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
    await fake?.stop();
  });

  /** Places an order through the form and waits on its page until it offers the payment page. */
  const placeOrder = async (page: Page, email: string) => {
    await page.goto(`${stack.webUrl}/orders/new`);
    assert.equal(await page.locator("#paymentMethod").count(), 0, "no payment field: the card is entered on Stripe's page");
    await page.fill("#qty-MUG-QUAY", "1");
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
    assert.equal(await page.getByRole("link", { name: "Pay now" }).count(), 1, "the customer may try another card");
    assert.deepEqual(fake.ledgerOf(orderId).charges, []);
    await page.close();
  });
});
