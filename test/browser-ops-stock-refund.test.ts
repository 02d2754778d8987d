/**
 * Two people in Chromium, operator and customer. The Harbour lamp is sold out; the operator
 * restocks it at /ops/stock and the customer's order form offers it again, and the order goes
 * through. Then the operator refunds that fulfilled order, and the customer's order page shows
 * "Refunded by the shop" in its panel and timeline, and the refund email arrives.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import { launchBrowser, operatorPage, watchProblems } from "./helpers/browser.ts";
import { waitUntil } from "./helpers/browser-client.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";
import { addOperator } from "./helpers/operators.ts";

const OPS_PASSWORD = "operator password for the console";
const OPERATOR = "rosa";

describe("browser: an operator restocks and refunds", () => {
  let stack: TestStack;
  let browser: Browser;
  let orderId = "";

  before(async () => {
    stack = await startTestStack("browser-ops-stock-refund", { web: true, env: { SHIPPING_DELAY_MS: "300" } });
    await addOperator(stack.env, OPERATOR, OPS_PASSWORD);
    await stack.db.query("UPDATE products SET stock = 0 WHERE sku = 'LAMP-HARBOUR'");
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  const signIn = () => operatorPage(browser, stack.webUrl, OPERATOR, OPS_PASSWORD);

  it("restocks a sold-out product, and the customer's order form offers it again", async () => {
    const customer = await (await browser.newContext()).newPage();
    const problems = watchProblems(customer);
    await customer.goto(`${stack.webUrl}/`);
    assert.equal(await customer.locator('.product[data-sku="LAMP-HARBOUR"] .stock').innerText(), "Sold out");
    await customer.goto(`${stack.webUrl}/orders/new`);
    assert.equal(await customer.locator("#qty-LAMP-HARBOUR").getAttribute("max"), "0");

    const operator = await signIn();
    const operatorProblems = watchProblems(operator);
    await operator.goto(`${stack.webUrl}/ops/stock`);
    const lamp = operator.locator('tr[data-sku="LAMP-HARBOUR"]');
    assert.equal(await lamp.locator(".stock-level").innerText(), "Sold out");
    await operator.fill("#restock-units-LAMP-HARBOUR", "4");
    await operator.fill("#restock-reason-LAMP-HARBOUR", "four lamps back from the polisher");
    await lamp.getByRole("button", { name: "Restock" }).click();
    await operator.locator(".notice").waitFor();
    assert.equal(
      await operator.locator(".notice").innerText(),
      "Harbour lamp: restocked by 4; 4 for sale now. Recorded for rosa.",
    );
    assert.equal(await lamp.locator(".stock-level").innerText(), "4");
    assert.match(
      await operator.locator("table.movements tbody tr").first().innerText(),
      /restock \+4\s+4\s+rosa\s+four lamps back/,
    );
    await operator.screenshot({ path: path.join(stack.logDir, "ops-stock.png"), fullPage: true });

    await customer.reload();
    assert.equal(await customer.locator("#qty-LAMP-HARBOUR").getAttribute("max"), "4");
    await customer.fill("#qty-LAMP-HARBOUR", "1");
    await customer.fill("#email", "lamp-lover@example.com");
    await customer.getByRole("button", { name: "Place order" }).click();
    await customer.waitForURL(/\/orders\/[0-9a-f-]{36}$/);
    orderId = customer.url().split("/").at(-1) ?? "";
    await customer.locator('.progress-panel[data-status="succeeded"]').waitFor({ timeout: 20_000 });
    assert.deepEqual([...problems, ...operatorProblems], []);
  });

  it("refunds the fulfilled order, and the customer's order page and email show it", async () => {
    assert.ok(orderId, "the order from the restock story");
    const customer = await (await browser.newContext()).newPage();
    const problems = watchProblems(customer);
    // The customer opens the order from the confirmation email's signed link (any browser).
    const confirmation = await waitUntil("the confirmation email", () =>
      stack.services.mail.messages.find(
        (m) => m.envelopeTo.includes("lamp-lover@example.com") && m.subject.startsWith("Order confirmed"),
      ),
    );
    const link = /https?:\/\/\S+\/orders\/[0-9a-f-]{36}\S*/.exec(confirmation.text ?? "")?.[0] ?? "";
    await customer.goto(new URL(new URL(link).pathname + new URL(link).search, stack.webUrl).toString());
    await customer.locator('.progress-panel[data-status="succeeded"]').waitFor();

    const operator = await signIn();
    const operatorProblems = watchProblems(operator);
    await operator.goto(`${stack.webUrl}/ops/orders/${orderId}/actions`);
    await operator.fill("#refund-reason", "the shade arrived cracked");
    await operator.getByRole("button", { name: "Refund €89.00" }).click();
    await operator.locator(".notice").waitFor();
    assert.match(await operator.locator(".notice").innerText(), /^Refunded:/);
    assert.equal(await operator.locator(".ops-order").getAttribute("data-status"), "refunded");
    await operator.screenshot({ path: path.join(stack.logDir, "ops-refund.png"), fullPage: true });

    await customer.reload();
    await customer.locator('.progress-panel[data-step="refunded"]').waitFor();
    assert.equal(
      (await customer.locator(".progress-message").innerText()).replace(/\s+/g, " "),
      "Refunded Refunded by the shop (rosa): the shade arrived cracked",
    );
    const steps = await customer.locator("#timeline .event").evaluateAll((els) => els.map((e) => e.getAttribute("data-step")));
    assert.deepEqual(steps.slice(-2), ["fulfilled", "refunded"]);
    assert.match(await customer.locator('#timeline .event[data-step="refunded"]').innerText(), /Refunded by the shop \(rosa\)/);
    await customer.screenshot({ path: path.join(stack.logDir, "customer-refunded.png"), fullPage: true });

    const mail = await waitUntil("the refund email", () =>
      stack.services.mail.messages.find(
        (m) => m.envelopeTo.includes("lamp-lover@example.com") && m.subject.startsWith("Order refunded"),
      ),
    );
    assert.match(mail.text ?? "", /Refunded by the shop: we refunded €89\.00/);
    assert.deepEqual([...problems, ...operatorProblems], []);
  });
});
