/**
 * Two people in Chromium: an operator keeps the shop overview open while a customer places a
 * large order in another browser; without a reload, the operator sees the order counted and
 * waiting for approval, then approves it from there. Then order rows marked up as the dashboard's
 * follow their orders. No console error, so no CSP violation and no fragment without a target.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import { launchBrowser, operatorPage, watchProblems, watchSseStreams } from "./helpers/browser.ts";
import { waitUntil } from "./helpers/browser-client.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";
import { addOperator } from "./helpers/operators.ts";

const OPS_PASSWORD = "operator password for tests";
const OPERATOR = "omar";

/** What the test keeps in the operator's window: gone if the page reloads. */
interface PageGlobals {
  __violations?: string[];
  document: {
    addEventListener(
      type: "securitypolicyviolation",
      listener: (e: { violatedDirective: string; blockedURI: string }) => void,
    ): void;
    querySelector(
      selector: string,
    ): { insertAdjacentHTML(where: "beforeend", markup: string): void; lastElementChild: unknown; remove(): void } | null;
  };
  htmx: { process(elt: unknown): void };
}

/** Adds markup to the page's <main> and lets htmx process it, as if the page had been rendered with it. */
const inject = (markup: string) => {
  const w = globalThis as unknown as PageGlobals;
  const main = w.document.querySelector("main");
  main?.insertAdjacentHTML("beforeend", markup);
  w.htmx.process(main?.lastElementChild);
};

describe("browser: the operator watches the shop move", () => {
  let stack: TestStack;
  let browser: Browser;

  before(async () => {
    stack = await startTestStack("browser-ops-live", {
      web: true,
      env: { APPROVAL_THRESHOLD_CENTS: "15000", SHIPPING_DELAY_MS: "300" },
    });
    await addOperator(stack.env, OPERATOR, OPS_PASSWORD);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it("the overview counts a new order and lists it for approval without a reload", async () => {
    const operator = await operatorPage(browser, stack.webUrl, OPERATOR, OPS_PASSWORD);
    const problems = watchProblems(operator);
    const streams = await watchSseStreams(operator);
    await operator.goto(`${stack.webUrl}/ops/overview`);
    assert.equal(await operator.locator("svg.orders-chart rect.bar").count(), 60);
    assert.equal(await operator.locator("#ops-overview dd[data-status='all']").innerText(), "0");
    assert.match(await operator.locator("#ops-approvals").innerText(), /No order is waiting for approval/);
    // Listens for CSP violations in this window; a reload would lose the list, so it also shows none happened.
    await operator.evaluate(() => {
      const w = globalThis as unknown as PageGlobals;
      w.__violations = [];
      w.document.addEventListener("securitypolicyviolation", (e) =>
        w.__violations?.push(`${e.violatedDirective} ${e.blockedURI}`),
      );
    });
    await waitUntil("the page's stream to be live (its first event)", () =>
      streams.some((st) => st.url.includes("/ops/events?topics=overview,approvals") && st.events.length > 0),
    );

    const customer = await (await browser.newContext()).newPage();
    const customerProblems = watchProblems(customer);
    await customer.goto(`${stack.webUrl}/orders/new`);
    await customer.fill("#qty-LAMP-HARBOUR", "2");
    await customer.fill("#email", "watched@example.com");
    await customer.getByRole("button", { name: "Place order" }).click();
    await customer.waitForURL(/\/orders\/[0-9a-f-]{36}$/);
    const orderId = /\/orders\/([0-9a-f-]{36})$/.exec(customer.url())?.[1];
    assert.ok(orderId);

    await operator.locator(`#approval-row-${orderId}`).waitFor({ timeout: 20_000 });
    await operator.locator("#ops-overview dd[data-status='awaiting_approval']").waitFor();
    assert.equal(await operator.locator("#ops-overview dd[data-status='all']").innerText(), "1");
    assert.equal(await operator.locator("[data-placed-last-hour]").getAttribute("data-placed-last-hour"), "1");
    assert.equal(await operator.locator("svg.orders-chart rect.bar[data-orders='1']").count(), 1);
    const violations = await operator.evaluate(() => (globalThis as unknown as PageGlobals).__violations ?? null);
    assert.deepEqual(violations, [], "the page updated in place, within the CSP");
    await operator.screenshot({ path: path.join(stack.logDir, "ops-overview-live.png"), fullPage: true });

    await operator.locator(`#approval-row-${orderId} button[data-action="approve"]`).click();
    await operator.waitForURL(/\/ops\?done=approve$/);
    await customer.locator('.progress-panel[data-status="succeeded"]').waitFor({ timeout: 20_000 });
    await operator.goto(`${stack.webUrl}/ops/overview`);
    await operator.locator("#ops-overview dd[data-status='fulfilled']").waitFor();
    assert.equal(await operator.locator("svg.completion-chart circle.point").count(), 1, "one minute with completions");
    assert.deepEqual([...problems, ...customerProblems], []);
  });

  it("order rows marked up as the dashboard's follow their orders; rows a page does not show are no error", async () => {
    const operator = await operatorPage(browser, stack.webUrl, OPERATOR, OPS_PASSWORD);
    const problems = watchProblems(operator);
    const streams = await watchSseStreams(operator);
    await operator.goto(`${stack.webUrl}/ops/overview`);
    const customer = await (await browser.newContext()).newPage();
    const customerProblems = watchProblems(customer);
    const place = async (email: string, lamps = "0") => {
      await customer.goto(`${stack.webUrl}/orders/new`);
      if (lamps !== "0") await customer.fill("#qty-LAMP-HARBOUR", lamps);
      else await customer.fill("#qty-MUG-QUAY", "1");
      await customer.fill("#email", email);
      await customer.getByRole("button", { name: "Place order" }).click();
      await customer.waitForURL(/\/orders\/[0-9a-f-]{36}$/);
      return /\/orders\/([0-9a-f-]{36})$/.exec(customer.url())?.[1] ?? "";
    };
    const statusOf = async (id: string) =>
      (await stack.db.query("SELECT status FROM orders WHERE id = $1", [id])).rows[0]?.status;

    // The list's first page: the newest orders come in at the top, and each row follows its order.
    await operator.evaluate(
      inject,
      `<div id="first-page" hx-ext="sse" sse-connect="/ops/events?topics=orders"><table class="lines all-orders"><tbody id="order-rows" data-as-rendered sse-swap="orders-newest" hx-swap="outerHTML"></tbody></table></div>`,
    );
    // The stream replaces the first page as it connects.
    await operator.locator("#order-rows:not([data-as-rendered])").waitFor({ state: "attached" });
    const placed = await place("first-page@example.com");
    await operator.locator(`#order-row-${placed} .status-fulfilled`).waitFor({ timeout: 20_000 });
    assert.equal(await operator.locator("#order-rows tr").first().getAttribute("id"), `order-row-${placed}`);
    await operator.evaluate(() => (globalThis as unknown as PageGlobals).document.querySelector("#first-page")?.remove());

    // A later page shows one waiting order: other orders' events find no row there.
    const waiting = await place("later-page@example.com", "2");
    await waitUntil("the approval wait", async () => (await statusOf(waiting)) === "awaiting_approval");
    const opened = streams.length;
    await operator.evaluate(
      inject,
      `<div hx-ext="sse" sse-connect="/ops/events?topics=orders"><table class="lines all-orders"><tbody><tr id="order-row-${waiting}" sse-swap="order-${waiting}" hx-swap="outerHTML"><td>as first rendered</td></tr></tbody></table></div>`,
    );
    const later = await waitUntil("the later page's stream to be live (its first event)", () =>
      streams.slice(opened).find((st) => st.url.includes("/ops/events?topics=orders") && st.events.length > 0),
    );
    const other = await place("not-on-this-page@example.com");
    await waitUntil("the other order", async () => (await statusOf(other)) === "fulfilled");
    const csrf = await operator.locator("input[name=_csrf]").first().inputValue();
    const approved = await operator.request.post(`${stack.webUrl}/ops/orders/${waiting}/approve`, {
      form: { _csrf: csrf },
      maxRedirects: 0,
    });
    assert.equal(approved.status(), 303);
    await operator.locator(`#order-row-${waiting} .status-fulfilled`).waitFor({ timeout: 20_000 });
    assert.ok(later.events.includes(`order-${other}`), "the other order's rows reached this page");
    assert.equal(await operator.locator(`#order-row-${other}`).count(), 0);
    const violations = await operator.evaluate(() => (globalThis as unknown as PageGlobals).__violations ?? []);
    assert.deepEqual([...problems, ...customerProblems, ...violations], []);
  });
});
