/**
 * End to end in Chromium: a customer places an order and watches the bar move and reach 100 % over
 * SSE; the confirmation email arrives at the catcher. Every order here waits for an operator's
 * approval (a day before it would time out), so the bar is held part-way until the test approves
 * it. A screenshot is kept in test-results/browser/.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import { launchBrowser, watchProblems } from "./helpers/browser.ts";
import { extract, waitUntil } from "./helpers/browser-client.ts";
import { addOperator, signInOperator } from "./helpers/operators.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";

const OPERATOR = "bea";
const OPS_PASSWORD = "browser test operator password";

describe("browser", () => {
  let stack: TestStack;
  let browser: Browser;

  before(async () => {
    stack = await startTestStack("browser", {
      web: true,
      env: { APPROVAL_THRESHOLD_CENTS: "1", APPROVAL_TIMEOUT_MS: "86400000" },
    });
    await addOperator(stack.env, OPERATOR, OPS_PASSWORD);
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

    // The bar moves as events arrive; record what the customer sees, in order, until it is full.
    const seen: string[] = [];
    const look = async () => {
      const v = await page.locator("#order-progress").getAttribute("value");
      if (v !== null && seen.at(-1) !== v) seen.push(v);
      return v;
    };
    // Held part-way: the order waits for approval, and the page says so without a reload.
    await page.locator('.progress-panel[data-status="waiting"]').waitFor({ timeout: 20_000 });
    const held = Number(await look());
    assert.ok(held > 0 && held < 100, `the bar stands part-way while the order waits: ${held}`);
    assert.match(await page.locator(".progress-message").innerText(), /Awaiting approval/);

    const operator = await signInOperator(stack.webUrl, OPERATOR, OPS_PASSWORD);
    const dashboard = await operator.get("/ops");
    const approved = await operator.postForm(`/ops/orders/${orderId}/approve`, { _csrf: extract(dashboard.html, "_csrf") });
    assert.equal(approved.status, 303);
    await waitUntil("the bar to reach 100 %", async () => (await look()) === "100");
    assert.ok(
      seen.slice(0, -1).some((v) => Number(v) > 0 && Number(v) < 100),
      `a value between 0 and 100 before 100: ${seen.join(" → ")}`,
    );
    assert.deepEqual(
      seen.map(Number),
      seen.map(Number).sort((a, b) => a - b),
      `the bar only moves forward: ${seen.join(" → ")}`,
    );
    assert.match(await page.locator(".progress-message").innerText(), /Fulfilled\s+Order fulfilled/);
    // The timeline lists every step with its time, appended live as events arrived.
    const steps = await page.locator("#timeline .event").evaluateAll((els) => els.map((e) => e.getAttribute("data-step")));
    assert.deepEqual(steps, [
      "received",
      "persisted",
      "reserved",
      "authorized",
      "awaiting_approval",
      "approved",
      "confirmed",
      "shipped",
      "fulfilled",
    ]);
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
