/**
 * Two people in Chromium: a customer places a large order and watches its bar stop at "Awaiting
 * approval"; an operator signs in to /ops and approves it; the customer's bar moves on to 100 %.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import { launchBrowser } from "./helpers/browser.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";

const OPS_PASSWORD = "operator password for tests";

describe("browser: approve from the operator page", () => {
  let stack: TestStack;
  let browser: Browser;

  before(async () => {
    stack = await startTestStack("browser-approval", {
      web: true,
      env: { APPROVAL_THRESHOLD_CENTS: "15000", SHIPPING_DELAY_MS: "500", OPS_PASSWORD },
    });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it("the customer watches the bar move when the operator approves", async () => {
    const customer = await (await browser.newContext()).newPage();
    const problems: string[] = [];
    customer.on("console", (m) => m.type() === "error" && problems.push(m.text()));
    await customer.goto(`${stack.webUrl}/orders/new`);
    await customer.fill("#qty-LAMP-HARBOUR", "2");
    await customer.fill("#email", "big-spender@example.com");
    await customer.getByRole("button", { name: "Place order" }).click();
    await customer.waitForURL(/\/orders\/[0-9a-f-]{36}$/);
    await customer.locator('.progress-panel[data-status="waiting"]').waitFor();
    assert.match(await customer.locator(".progress-message").innerText(), /Awaiting approval/);
    const waitingAt = Number(await customer.locator("#order-progress").getAttribute("value"));
    await customer.screenshot({ path: path.join(stack.logDir, "awaiting-approval.png"), fullPage: true });

    const operator = await (await browser.newContext()).newPage();
    await operator.goto(`${stack.webUrl}/ops`);
    await operator.fill("#password", OPS_PASSWORD);
    await operator.getByRole("button", { name: "Sign in" }).click();
    await operator.locator("table.pending").waitFor();
    await operator.screenshot({ path: path.join(stack.logDir, "ops.png"), fullPage: true });
    await operator.locator('table.pending button[data-action="approve"]').first().click();
    await operator.locator(".notice").waitFor();
    assert.equal(await operator.locator(".notice").innerText(), "Order approved.");

    // The customer's page was not reloaded: the bar moves over SSE.
    await customer.locator('.progress-panel[data-status="succeeded"]').waitFor({ timeout: 20_000 });
    assert.equal(await customer.locator("#order-progress").getAttribute("value"), "100");
    assert.ok(waitingAt < 100);
    const steps = await customer.locator("#timeline .event").evaluateAll((els) => els.map((e) => e.getAttribute("data-step")));
    assert.ok(steps.includes("awaiting_approval") && steps.includes("approved") && steps.at(-1) === "fulfilled", steps.join(","));
    await customer.screenshot({ path: path.join(stack.logDir, "approved.png"), fullPage: true });
    assert.deepEqual(problems, []);
  });
});
