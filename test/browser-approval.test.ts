/**
 * Two people in Chromium: a customer places a large order and watches its bar stop at "Awaiting
 * approval"; an operator, made with `npm run operator`, signs in to /ops by name and approves it;
 * the customer's bar moves on to 100 % and the timeline says who approved. Then the operator pages
 * through the order list, filters it by status and finds orders by email and by id.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, Locator, Page } from "playwright-core";
import { launchBrowser } from "./helpers/browser.ts";
import { addOperator } from "./helpers/operators.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";

const OPS_PASSWORD = "operator password for tests";

describe("browser: the operator page", () => {
  let stack: TestStack;
  let browser: Browser;
  /** Console errors and CSP violations, except the answers the story asks for (a wrong password is 401, a bad search 422). */
  const watch = (page: Page, problems: string[]) =>
    page.on("console", (m) => {
      if (m.type() === "error" && !/status of (401|422)\b/.test(m.text())) problems.push(`${page.url()}: ${m.text()}`);
    });
  /** An operator's own browser, signed in to /ops as ana. */
  async function signedInOperator(problems: string[]): Promise<Page> {
    const page = await (await browser.newContext()).newPage();
    watch(page, problems);
    await page.goto(`${stack.webUrl}/ops`);
    await page.fill("#name", "ana");
    await page.fill("#password", OPS_PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator("[data-operator]").waitFor();
    return page;
  }

  before(async () => {
    stack = await startTestStack("browser-approval", {
      web: true,
      env: { APPROVAL_THRESHOLD_CENTS: "15000", SHIPPING_DELAY_MS: "500" },
    });
    await addOperator(stack.env, "ana", OPS_PASSWORD);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it("the customer watches the bar move when the operator approves, and sees who approved", async () => {
    const problems: string[] = [];
    const customer = await (await browser.newContext()).newPage();
    watch(customer, problems);
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
    watch(operator, problems);
    await operator.goto(`${stack.webUrl}/ops`);
    await operator.fill("#name", "ana");
    await operator.fill("#password", "not ana's password");
    await operator.getByRole("button", { name: "Sign in" }).click();
    assert.equal(await operator.locator(".form-error").innerText(), "Wrong name or password.");
    assert.equal(await operator.inputValue("#name"), "ana", "the name is kept, the password is not");
    assert.equal(await operator.inputValue("#password"), "");
    await operator.fill("#password", OPS_PASSWORD);
    await operator.getByRole("button", { name: "Sign in" }).click();
    await operator.locator("table.pending").waitFor();
    assert.equal(await operator.locator("[data-operator]").innerText(), "ana");
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
    assert.match(await customer.locator('#timeline .event[data-step="approved"]').innerText(), /Approved by ana$/);
    await customer.screenshot({ path: path.join(stack.logDir, "approved.png"), fullPage: true });
    assert.deepEqual(problems, []);
  });

  it("the operator pages through the orders, filters by status and finds an order by email or id", async () => {
    const problems: string[] = [];
    const operator = await signedInOperator(problems);
    // 120 older orders in one statement, a second apart, alternately fulfilled and cancelled.
    await stack.db.query(
      `INSERT INTO orders (id, email, payment_method, total_cents, currency, status, created_at)
       SELECT ('01800000-0000-7000-8000-' || lpad(to_hex(n), 12, '0'))::uuid, 'shopper' || n || '@paging.example',
              'pm_card_visa', 1000 + n, 'EUR', CASE WHEN n % 2 = 0 THEN 'fulfilled' ELSE 'cancelled' END,
              timestamptz '2026-01-01 00:00:00+00' + n * interval '1 second'
         FROM generate_series(1, 120) AS n`,
    );
    /** Clicks a pager link and waits until the page it names is the one shown. */
    const followPageLink = async (link: Locator) => {
      const href = new URL((await link.getAttribute("href")) ?? "", stack.webUrl);
      const cursor = (u: URL) => `${u.searchParams.get("after")}|${u.searchParams.get("before")}`;
      assert.ok(href.searchParams.has("after") || href.searchParams.has("before"), "the link carries a cursor");
      await link.click();
      await operator.waitForURL((u) => cursor(u) === cursor(href));
      await operator.locator("table.all-orders").waitFor();
    };
    const total = Number((await stack.db.query("SELECT count(*) AS n FROM orders")).rows[0].n);
    const rowIds = () =>
      operator.locator("table.all-orders tbody tr").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-order-id")));

    await operator.goto(`${stack.webUrl}/ops`);
    const pages: Array<Array<string | null>> = [];
    for (let page = 1; ; page++) {
      const ids = await rowIds();
      assert.ok(ids.length > 0 && ids.length <= 50, `page ${page}: ${ids.length} rows`);
      pages.push(ids);
      const older = operator.getByRole("link", { name: "Older orders" });
      if ((await older.count()) === 0) break;
      await followPageLink(older);
    }
    const seen = pages.flat();
    assert.equal(seen.length, total, "every order once, across the pages");
    assert.equal(new Set(seen).size, total, "no order twice");
    assert.equal(seen.at(-1), "01800000-0000-7000-8000-000000000001", "the oldest last");

    // Back, page by page, to the first (which has no way further back).
    for (let page = pages.length - 2; page >= 1; page--) {
      await followPageLink(operator.getByRole("link", { name: "Newer orders" }));
      assert.deepEqual(await rowIds(), pages[page], `back to page ${page + 1}`);
    }
    await operator.getByRole("link", { name: "Newer orders" }).click();
    await operator.getByRole("link", { name: "Newest orders" }).waitFor({ state: "detached" });
    assert.deepEqual(await rowIds(), pages[0], "back to the first page");
    assert.equal(await operator.getByRole("link", { name: "Newer orders" }).count(), 0);
    await operator.selectOption("#status", "cancelled");
    await operator.getByRole("button", { name: "Find" }).click();
    await operator.waitForURL(/status=cancelled/);
    const statuses = await operator.locator("table.all-orders .order-status").allInnerTexts();
    assert.equal(statuses.length, 50);
    assert.ok(
      statuses.every((s) => s.startsWith("cancelled")),
      statuses.join(","),
    );
    await followPageLink(operator.getByRole("link", { name: "Older orders" }));
    assert.equal((await rowIds()).length, 10, "60 cancelled orders: 50, then 10");

    await operator.fill("#q", "Shopper77@Paging.example");
    await operator.selectOption("#status", "");
    await operator.getByRole("button", { name: "Find" }).click();
    await operator.waitForURL(/q=Shopper77/);
    assert.deepEqual(await rowIds(), ["01800000-0000-7000-8000-00000000004d"]);

    await operator.fill("#q", "01800000-0000-7000-8000-00000000006");
    await operator.getByRole("button", { name: "Find" }).click();
    await operator.waitForURL(/q=01800000/);
    assert.deepEqual(
      await rowIds(),
      Array.from({ length: 16 }, (_, i) => `01800000-0000-7000-8000-00000000006${(15 - i).toString(16)}`),
      "an id prefix finds the orders whose ids start with it, newest first",
    );

    await operator.fill("#q", "zz");
    await operator.getByRole("button", { name: "Find" }).click();
    await operator.locator("#q-error").waitFor();
    assert.match(
      await operator.locator("#q-error").innerText(),
      /the start of an order id \(at least 4 of its characters: 0-9, a-f and dashes\)/,
    );
    assert.equal(await operator.inputValue("#q"), "zz", "the search is kept");
    await operator.screenshot({ path: path.join(stack.logDir, "ops-search.png"), fullPage: true });
    assert.deepEqual(problems, []);
  });
});
