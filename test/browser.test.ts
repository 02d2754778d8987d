/**
 * End to end in Chromium: a customer places an order and watches the bar reach 100 % over SSE;
 * the confirmation email arrives at the catcher. A screenshot is kept in test-results/browser/.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import { launchBrowser, watchProblems } from "./helpers/browser.ts";
import { waitUntil } from "./helpers/browser-client.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";

describe("browser", () => {
  let stack: TestStack;
  let browser: Browser;

  before(async () => {
    stack = await startTestStack("browser", { web: true });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it("places an order and watches its progress bar reach 100 %", async () => {
    const page = await browser.newPage();
    const problems = watchProblems(page);
    await page.goto(stack.webUrl);
    await page.getByRole("link", { name: "Place an order" }).first().click();
    await page.waitForURL(/\/orders\/new$/);
    await page.fill("#qty-MUG-QUAY", "2");
    await page.fill("#qty-KNOT-BOOK", "1");
    await page.fill("#email", "browser@example.com");
    await page.getByRole("button", { name: "Place order" }).click();
    await page.waitForURL(/\/orders\/[0-9a-f-]{36}$/);
    const orderId = page.url().split("/").at(-1) ?? "";

    // The bar moves as events arrive; record what the customer sees until it is full.
    const seen = new Set<string>();
    await waitUntil("the bar to reach 100 %", async () => {
      const v = await page.locator("#order-progress").getAttribute("value");
      if (v) seen.add(v);
      return v === "100";
    });
    assert.match(await page.locator(".progress-message").innerText(), /Fulfilled\s+Order fulfilled/);
    // The timeline lists every step with its time, appended live as events arrived.
    const steps = await page.locator("#timeline .event").evaluateAll((els) => els.map((e) => e.getAttribute("data-step")));
    assert.deepEqual(steps, ["received", "persisted", "reserved", "paid", "confirmed", "shipped", "fulfilled"]);
    const link = page.getByRole("link", { name: "open in the Restate UI" });
    assert.match((await link.getAttribute("href")) ?? "", /\/ui\/invocations\/inv_/);
    // The details placeholder reloads itself once the worker has saved the order.
    await page.locator(".order-details table").waitFor();
    assert.match(await page.locator(".order-details").innerText(), /Quayside mug/);
    await page.screenshot({ path: path.join(stack.logDir, "order-complete.png"), fullPage: true });

    const mail = await waitUntil("the confirmation email", () =>
      // The two order emails are queued one-way and independently: with no shipping delay the shipped
      // one can be delivered first, so the confirmation is looked for by its subject.
      stack.services.mail.messages.find(
        (m) => m.envelopeTo.includes("browser@example.com") && m.subject === `Order confirmed: ${orderId.slice(-12)}`,
      ),
    );
    assert.match(mail.text ?? "", /Quayside mug/);
    assert.deepEqual(problems, [], "no console errors, CSP violations or page errors");
    await page.close();
  });

  it("shows field errors in place when the form is wrong, keeping what was typed", async () => {
    const page = await browser.newPage();
    const problems = watchProblems(page);
    await page.goto(`${stack.webUrl}/orders/new`);
    await page.fill("#email", "not an email");
    await page.getByRole("button", { name: "Place order" }).click();
    await page.locator("#email-error").waitFor();
    assert.equal(await page.locator("#email-error").innerText(), "Enter a valid email address");
    assert.equal(await page.locator("#quantities-error").innerText(), "Choose at least one product");
    assert.equal(await page.inputValue("#email"), "not an email");
    assert.deepEqual(
      problems.filter((p) => !/status of 422/.test(p)),
      [],
    );
    await page.close();
  });
});
