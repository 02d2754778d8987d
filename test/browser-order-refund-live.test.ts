/**
 * In Chromium, the customer's side of an operator's action: the order page is left open, and what
 * the shop does to the order afterwards reaches it without a reload, with the amount given back.
 * Orders wait a day to ship, so each one waits in the shipping wait until the test moves it on:
 * cancelled there by the operator (the card is refunded), or shipped now and then refunded. An
 * operator may read the customer's page too, without the customer's controls.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { orderReference } from "../shared/order-reference.ts";
import { launchBrowser, operatorPage, watchProblems } from "./helpers/browser.ts";
import { waitUntil } from "./helpers/browser-client.ts";
import { addOperator } from "./helpers/operators.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";

const OPS_PASSWORD = "operator password for the console";
const OPERATOR = "noor";

describe("browser: an open order page learns of the shop's cancel and refund", () => {
  let stack: TestStack;
  let browser: Browser;

  before(async () => {
    stack = await startTestStack("browser-order-refund-live", { web: true, env: { SHIPPING_DELAY_MS: "86400000" } });
    await addOperator(stack.env, OPERATOR, OPS_PASSWORD);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  /** Two books of knots (€24.00), ordered in a fresh browser; the page is left open in the shipping wait. */
  async function orderInShippingWait(email: string): Promise<{ page: Page; orderId: string; problems: string[] }> {
    const page = await (await browser.newContext()).newPage();
    const problems = watchProblems(page);
    await page.goto(`${stack.webUrl}/orders/new`);
    await page.fill("#qty-KNOT-BOOK", "2");
    await page.fill("#email", email);
    await page.getByRole("button", { name: "Place order" }).click();
    await page.waitForURL(/\/orders\/[0-9a-f-]{36}$/);
    const orderId = page.url().split("/").at(-1) ?? "";
    await page.locator('.progress-panel[data-step="confirmed"]').waitFor({ timeout: 30_000 });
    assert.equal(await page.locator(".lines tfoot th").last().innerText(), "€24.00");
    return { page, orderId, problems };
  }

  /** The operator's page for one order, in the operator's own browser. */
  async function operatorOn(orderId: string): Promise<Page> {
    const operator = await operatorPage(browser, stack.webUrl, OPERATOR, OPS_PASSWORD);
    await operator.goto(`${stack.webUrl}/ops/orders/${orderId}/actions`);
    return operator;
  }

  /** Marks the page, so that a reload (which would drop the mark) cannot pass for a live update. */
  const markPage = (page: Page) => page.locator("body").evaluate((b) => b.setAttribute("data-not-reloaded", "yes"));
  const stillTheSamePage = async (page: Page) =>
    assert.equal(await page.locator("body").getAttribute("data-not-reloaded"), "yes", "the page was not reloaded");

  it("an operator's cancel in the shipping wait shows the refund on the open page", async () => {
    const { page, orderId, problems } = await orderInShippingWait("cancelled-live@example.com");
    assert.equal(await page.locator(".refund-line").count(), 0, "nothing refunded yet");
    await markPage(page);

    const operator = await operatorOn(orderId);
    await operator.fill("#cancel-reason", "the books are out of print");
    await operator.getByRole("button", { name: "Cancel order" }).click();
    await operator.locator(".notice").waitFor();

    await page.locator('.progress-panel[data-step="cancelled"]').waitFor({ timeout: 30_000 });
    await page.locator(".refund-line").waitFor();
    assert.equal(await page.locator(".refund-line").innerText(), "We refunded €24.00 to your card.");
    await stillTheSamePage(page);
    await page.screenshot({ path: path.join(stack.logDir, "cancelled-live.png"), fullPage: true });

    // The same on a fresh load, and the same amount as the email says.
    await page.reload();
    assert.equal(await page.locator(".refund-line").innerText(), "We refunded €24.00 to your card.");
    const mail = await waitUntil("the cancellation email", () =>
      stack.services.mail.messages.find((m) => m.envelopeTo.includes("cancelled-live@example.com") && /cancel/i.test(m.subject)),
    );
    assert.match(mail.text ?? "", /We refunded €24\.00/);
    // One short reference: the email's subject names the order as its page does.
    assert.equal(mail.subject, `Order cancelled: ${orderReference(orderId)}`);
    assert.equal(await page.getByRole("heading", { level: 1 }).innerText(), `Order ${orderReference(orderId)}`);
    assert.deepEqual(problems, []);
  });

  it("a refund after the order was fulfilled reaches the page left open on it", async () => {
    const { page, orderId, problems } = await orderInShippingWait("refunded-live@example.com");
    const operator = await operatorOn(orderId);
    await operator.getByRole("button", { name: "Ship now" }).click();
    await page.locator('.progress-panel[data-step="fulfilled"]').waitFor({ timeout: 30_000 });
    assert.equal(await page.locator(".refund-line").count(), 0, "nothing refunded yet");
    await markPage(page);

    await operator.goto(`${stack.webUrl}/ops/orders/${orderId}/actions`);
    await operator.fill("#refund-reason", "a page was missing");
    await operator.getByRole("button", { name: "Refund €24.00" }).click();
    await operator.locator(".notice").waitFor();
    assert.match(await operator.locator(".notice").innerText(), /^Refunded:/);

    await page.locator('.progress-panel[data-step="refunded"]').waitFor({ timeout: 30_000 });
    assert.equal(await page.locator(".refund-line").innerText(), "We refunded €24.00 to your card.");
    assert.match(await page.locator('#timeline .event[data-step="refunded"]').innerText(), /Refunded by the shop \(noor\)/);
    await stillTheSamePage(page);
    await page.screenshot({ path: path.join(stack.logDir, "refunded-live.png"), fullPage: true });

    await page.reload();
    assert.equal(await page.locator(".refund-line").innerText(), "We refunded €24.00 to your card.");
    assert.deepEqual(problems, []);
  });

  it("an operator opens the customer's page from the console: read-only, and live", async () => {
    const { orderId, problems } = await orderInShippingWait("read-by-operator@example.com");
    const operator = await operatorOn(orderId);
    const operatorProblems = watchProblems(operator);
    await operator.getByRole("link", { name: "The customer's page" }).click();
    await operator.waitForURL(`${stack.webUrl}/orders/${orderId}`);
    await operator.locator('.progress-panel[data-step="confirmed"]').waitFor();
    assert.equal(await operator.getByRole("heading", { level: 1 }).innerText(), `Order ${orderReference(orderId)}`);
    assert.equal(
      await operator.getByRole("button", { name: "Cancel order" }).count(),
      0,
      "the customer's controls are not shown",
    );
    assert.match(await operator.locator('.notice[role="note"]').innerText(), /as an operator: nothing here changes the order/);

    // Its stream is live too, still without controls: the order ships while the operator watches.
    const consolePage = await operatorOn(orderId);
    await consolePage.getByRole("button", { name: "Ship now" }).click();
    await operator.locator('.progress-panel[data-step="fulfilled"]').waitFor({ timeout: 30_000 });
    assert.equal(await operator.getByRole("button", { name: "Cancel order" }).count(), 0);

    // Someone else's session, not an operator's, still gets the 404.
    const stranger = await (await browser.newContext()).newPage();
    assert.equal((await stranger.goto(`${stack.webUrl}/orders/${orderId}`))?.status(), 404);
    assert.deepEqual([...problems, ...operatorProblems], []);
  });
});
