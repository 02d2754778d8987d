/**
 * The operator console as an operator finds it, in Chromium: the console's pages in the header
 * once signed in (never for a customer), each order row opening that order's operator page by its
 * id, a finished order's page saying why nothing can be done, the search box saying what it takes,
 * and a page of who did what. Every page visited has no axe-core WCAG 2.1 AA violation. Orders
 * above €150 wait a day for approval and confirmed orders wait a day to ship: each test moves its
 * own orders itself (approve, ship now, cancel), nothing waits on a timer.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { v7 as uuidv7 } from "uuid";
import { createOrdersClient } from "../web/adapters/orders-client.ts";
import { ACCEPTED } from "../web/order-list-query.ts";
import { TEST_CALL_TIMEOUT_MS } from "./helpers/call-timeout.ts";
import { accessibilityContext, axeViolations } from "./helpers/accessibility.ts";
import { launchBrowser, watchProblems } from "./helpers/browser.ts";
import { waitUntil } from "./helpers/browser-client.ts";
import { addOperator } from "./helpers/operators.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";

const PASSWORD = "the console operator's long password";
const OPERATOR = "ines";
const CONSOLE_PAGES = ["Approvals", "Orders", "Stock", "Overview", "Decisions"];

describe("browser: the operator console, as an operator finds it", () => {
  let stack: TestStack;
  let browser: Browser;
  let orders: ReturnType<typeof createOrdersClient>;

  before(async () => {
    stack = await startTestStack("browser-ops-console", {
      web: true,
      env: { APPROVAL_THRESHOLD_CENTS: "15000", APPROVAL_TIMEOUT_MS: "86400000", SHIPPING_DELAY_MS: "86400000" },
    });
    await addOperator(stack.env, OPERATOR, PASSWORD);
    browser = await launchBrowser();
    orders = createOrdersClient({ ingressUrl: stack.services.restate.ingressUrl, timeoutMs: TEST_CALL_TIMEOUT_MS });
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  /** A window signed in as the operator, in a context axe-core can be injected into past the CSP. */
  async function operatorWindow(): Promise<{ page: Page; problems: string[] }> {
    const page = await (await accessibilityContext(browser)).newPage();
    const problems = watchProblems(page);
    await page.goto(`${stack.webUrl}/ops`);
    await page.fill("#name", OPERATOR);
    await page.fill("#password", PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Operations", level: 1 }).waitFor();
    return { page, problems };
  }

  /** An order of two lamps (€178): above the threshold, so it waits for an operator. */
  async function orderAwaitingApproval(email: string): Promise<string> {
    const orderId = uuidv7();
    await orders.submit({ orderId, email, paymentMethod: "pm_card_visa", lines: [{ sku: "LAMP-HARBOUR", quantity: 2 }] });
    await waitUntil(
      `order ${orderId} to wait for approval`,
      async () => (await orders.status(orderId)).step === "awaiting_approval",
    );
    return orderId;
  }

  const statusOf = async (orderId: string) =>
    (await stack.db.query("SELECT status FROM orders WHERE id = $1", [orderId])).rows[0]?.status as string | undefined;

  it("a signed-in operator finds every console page in the header; a customer sees none of it", async () => {
    const customer = await (await accessibilityContext(browser)).newPage();
    for (const path of ["/", "/orders/new", "/ops", "/ops/stock"]) {
      await customer.goto(`${stack.webUrl}${path}`);
      assert.equal(await customer.getByRole("navigation", { name: "Operations" }).count(), 0, `no console links on ${path}`);
    }
    // The 403 page a signed-out visitor gets offers the sign-in form.
    assert.equal(await customer.getByRole("button", { name: "Sign in" }).count(), 1);
    assert.deepEqual(await axeViolations(customer), [], "the sign-in page");

    const { page, problems } = await operatorWindow();
    const nav = page.getByRole("navigation", { name: "Operations" });
    assert.deepEqual(await nav.getByRole("link").allInnerTexts(), CONSOLE_PAGES);
    const headings: Record<string, string> = {
      Approvals: "Operations",
      Orders: "Operations",
      Stock: "Stock",
      Overview: "Shop overview",
      Decisions: "Operator decisions",
    };
    for (const name of CONSOLE_PAGES) {
      await nav.getByRole("link", { name }).click();
      await page.getByRole("heading", { name: headings[name], level: 1 }).waitFor();
      assert.deepEqual(await nav.getByRole("link").allInnerTexts(), CONSOLE_PAGES, `the header on ${name}`);
      assert.deepEqual(await axeViolations(page), [], `axe on ${name} (${page.url()})`);
    }
    assert.deepEqual(problems, []);
  });

  it("each order row opens that order's operator page by its id; a finished order's page says why nothing can be done", async () => {
    const orderId = await orderAwaitingApproval("rows@example.com");
    const { page, problems } = await operatorWindow();
    await page.goto(`${stack.webUrl}/ops?q=${orderId.slice(0, 13)}#orders`);
    const row = page.locator(`#order-row-${orderId}`);
    assert.equal(await page.getByText("cancel or refund").count(), 0, "no link named by what may not be possible");
    await row.getByRole("link", { name: orderId }).click();
    await page.waitForURL(`${stack.webUrl}/ops/orders/${orderId}/actions`);
    await page.getByRole("heading", { name: `Order ${orderId}` }).waitFor();
    assert.deepEqual(await axeViolations(page), [], "axe on the order's page, cancel offered");

    await page.fill("#cancel-reason", "The customer asked us by phone");
    await page.getByRole("button", { name: "Cancel order" }).click();
    await page.waitForURL(/\?done=cancel$/);
    await waitUntil("the order to be cancelled", async () => (await statusOf(orderId)) === "cancelled");
    await page.goto(`${stack.webUrl}/ops#orders`);
    await page.locator(`#order-row-${orderId}`).getByRole("link", { name: orderId }).click();
    await page.waitForURL(`${stack.webUrl}/ops/orders/${orderId}/actions`);
    assert.equal(await page.locator(".no-actions").innerText(), "Nothing can be done to this order any more: it is cancelled.");
    assert.equal(
      await page
        .getByRole("button")
        .filter({ hasText: /Cancel order|Refund|Ship now/ })
        .count(),
      0,
    );
    assert.deepEqual(await axeViolations(page), [], "axe on a finished order's page");
    assert.deepEqual(problems, []);
  });

  it("a partial email in the search box is told what the box takes", async () => {
    const { page, problems } = await operatorWindow();
    await page.fill("#q", "customer@exam");
    await page.getByRole("button", { name: "Find" }).click();
    await page.locator("#q-error").waitFor();
    assert.equal(await page.locator("#q-error").innerText(), ACCEPTED);
    assert.equal(await page.inputValue("#q"), "customer@exam", "what was typed stays in the box");
    assert.deepEqual(await axeViolations(page), [], "axe on the refused search");
    // The refused search answers 422; anything else is a problem.
    assert.deepEqual(
      problems.filter((p) => !/status of 422/.test(p)),
      [],
    );
  });

  it("the decisions page says who approved, shipped, cancelled and restocked, newest first; a cancel names its operator in a column", async () => {
    const [shipped, cancelled] = [
      await orderAwaitingApproval("approved@example.com"),
      await orderAwaitingApproval("cancelled@example.com"),
    ];
    const { page, problems } = await operatorWindow();

    await page.locator(`#approval-row-${shipped} button[data-action="approve"]`).click();
    await page.waitForURL(/\/ops\?done=approve$/);
    await waitUntil("the approved order to wait to ship", async () => (await orders.status(shipped)).step === "confirmed");
    await page.goto(`${stack.webUrl}/ops/orders/${shipped}/actions`);
    await page.getByRole("button", { name: "Ship now" }).click();
    await page.waitForURL(/\?done=dispatch$/);

    await page.goto(`${stack.webUrl}/ops/orders/${cancelled}/actions`);
    await page.fill("#cancel-reason", "Out of lamps until spring");
    await page.getByRole("button", { name: "Cancel order" }).click();
    await page.waitForURL(/\?done=cancel$/);

    await page.goto(`${stack.webUrl}/ops/stock`);
    await page.fill("#restock-units-MUG-QUAY", "2");
    await page.fill("#restock-reason-MUG-QUAY", "two mugs returned unused");
    await page.locator('tr[data-sku="MUG-QUAY"]').getByRole("button", { name: "Restock" }).click();
    await page.waitForURL(/\/ops\/stock\?movement=/);

    await page.getByRole("navigation", { name: "Operations" }).getByRole("link", { name: "Decisions" }).click();
    await page.getByRole("heading", { name: "Operator decisions" }).waitFor();
    const rows = await page
      .locator("table.decisions tbody tr")
      .evaluateAll((trs) =>
        trs.map((tr) => [...tr.querySelectorAll("td")].slice(1).map((td) => (td.textContent ?? "").trim().replace(/\s+/g, " "))),
      );
    const mine = rows.filter((r) => [`order ${shipped}`, `order ${cancelled}`, "Quayside mug"].includes(r[2] ?? ""));
    assert.deepEqual(mine.slice(0, 4), [
      [OPERATOR, "Restocked by 2", "Quayside mug", "done", "two mugs returned unused"],
      [OPERATOR, "Cancelled", `order ${cancelled}`, "done", "Out of lamps until spring"],
      [OPERATOR, "Shipped now", `order ${shipped}`, "done", ""],
      [OPERATOR, "Approved", `order ${shipped}`, "done", ""],
    ]);
    assert.deepEqual(await axeViolations(page), [], "axe on the decisions page");

    const cancel = await stack.db.query(
      "SELECT operator, outcome, reason FROM operator_decisions WHERE order_id = $1 AND action = 'cancel'",
      [cancelled],
    );
    assert.deepEqual(cancel.rows, [{ operator: OPERATOR, outcome: "accepted", reason: "Out of lamps until spring" }]);
    await page
      .getByRole("link", { name: `order ${cancelled}` })
      .first()
      .click();
    await page.waitForURL(`${stack.webUrl}/ops/orders/${cancelled}/actions`);
    assert.deepEqual(problems, []);
  });
});
