/**
 * In Chromium: the customer opens the confirmation email's link on "another device" (a fresh
 * browser context with no cookies) and watches the order's bar reach 100 % over SSE; the token
 * leaves the address bar at once and is in no request the page makes. Tampered and expired links
 * are 404. "Email me my orders" used from the page sends a link that works the same way. Orders
 * wait a day to ship, so one is still moving when its link is opened until the test ships it.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { createResourceLinks } from "../shared/resource-link.ts";
import { createOrdersClient } from "../web/adapters/orders-client.ts";
import { launchBrowser } from "./helpers/browser.ts";
import { BrowserClient, waitUntil, postOrderForm } from "./helpers/browser-client.ts";
import { orderLinksIn, tampered } from "./helpers/mail-links.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";

const LINK_KEY = "browser-link-test-signing-key-0123456789abcdef";

describe("browser: order links from emails", () => {
  let stack: TestStack;
  let browser: Browser;

  before(async () => {
    // A day-long shipping wait: an order is still moving when its link is opened, until it is shipped now.
    stack = await startTestStack("browser-order-link", {
      web: true,
      env: { LINK_SIGNING_KEYS: LINK_KEY, SHIPPING_DELAY_MS: "86400000" },
    });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  /** A fresh context (no cookies: another device) whose console problems and outgoing requests are recorded. */
  async function freshDevice(): Promise<{ context: BrowserContext; page: Page; problems: string[]; requests: string[] }> {
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems: string[] = [];
    const requests: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
    page.on("request", (r) => requests.push(`${r.url()} referer=${r.headers().referer ?? ""}`));
    return { context, page, problems, requests };
  }

  async function placeOrder(email: string): Promise<string> {
    const { orderId, status } = await postOrderForm(new BrowserClient(stack.webUrl), { email });
    assert.equal(status, 303);
    return orderId;
  }

  it("opens the confirmation email's link on another device and watches the bar reach 100 % over SSE", async () => {
    const orderId = await placeOrder("phone-owner@browser.example");
    const mail = await waitUntil("the confirmation email", () =>
      stack.services.mail.messages.find(
        (m) => m.envelopeTo.includes("phone-owner@browser.example") && m.subject.startsWith("Order confirmed"),
      ),
    );
    const [link] = orderLinksIn(mail.text);
    assert.ok(link && link.orderId === orderId, mail.text ?? "");

    const { context, page, problems, requests } = await freshDevice();
    const response = await page.goto(link.url);
    assert.equal(response?.status(), 200);
    assert.equal(page.url(), `${stack.webUrl}/orders/${orderId}`, "the token left the address bar");
    const first = Number(await page.locator("#order-progress").getAttribute("value"));
    assert.ok(first < 100, `the order was still in progress when opened (${first} %)`);
    // An operator's "ship now" ends the shipping wait while the page watches.
    const orders = createOrdersClient({ ingressUrl: stack.services.restate.ingressUrl });
    assert.equal((await orders.control(orderId, "dispatch", "", "otto")).accepted, true);
    const seen = new Set<number>([first]);
    await waitUntil("the bar to reach 100 %", async () => {
      const v = Number(await page.locator("#order-progress").getAttribute("value"));
      seen.add(v);
      return v === 100;
    });
    assert.ok(seen.size >= 2, `the bar moved live: ${[...seen].join(", ")}`);
    assert.match(await page.locator(".progress-message").innerText(), /Order fulfilled/);
    const steps = await page.locator("#timeline .event").evaluateAll((els) => els.map((e) => e.getAttribute("data-step")));
    assert.equal(steps.at(-1), "fulfilled");
    await page.screenshot({ path: path.join(stack.logDir, "opened-from-email.png"), fullPage: true });

    await page.getByRole("link", { name: "My orders" }).first().click();
    await page.locator(`tr[data-order-id="${orderId}"]`).waitFor();

    const carrying = requests.slice(1).filter((r) => r.includes("access=") || r.includes(link.token));
    assert.deepEqual(carrying, [], "no request after the first carries the token, in its URL or its Referer");
    assert.ok(
      requests.some((r) => r.includes(`/orders/${orderId}/events`)),
      "the page opened its SSE stream",
    );
    assert.deepEqual(problems, [], "no console errors, CSP violations or page errors");
    await context.close();
  });

  it("a tampered or expired link is the same 404 page as no access", async () => {
    const orderId = await placeOrder("tamper@browser.example");
    const mail = await waitUntil("the confirmation email", () =>
      stack.services.mail.messages.find(
        (m) => m.envelopeTo.includes("tamper@browser.example") && m.subject.startsWith("Order confirmed"),
      ),
    );
    const [link] = orderLinksIn(mail.text);
    assert.ok(link);
    const expired = createResourceLinks({ keys: [LINK_KEY], ttlSeconds: 300, now: () => Date.now() - 86_400_000 });
    const { context, page } = await freshDevice();
    for (const url of [tampered(link), `${stack.webUrl}/orders/${orderId}?access=${expired.sign("order", orderId)}`]) {
      const res = await page.goto(url);
      assert.equal(res?.status(), 404, url);
      assert.match(await page.locator("main").innerText(), /We could not find that order/);
    }
    assert.equal((await page.goto(`${stack.webUrl}/orders/${orderId}`))?.status(), 404, "and nothing was granted");
    await context.close();
  });

  it("'Email me my orders' from the page sends a link that opens the order", async () => {
    const orderId = await placeOrder("forgetful@browser.example");
    // The lookup finds stored orders: wait until the workflow has saved this one.
    await waitUntil("the order to be stored", async () => {
      return (await stack.db.query("SELECT 1 FROM orders WHERE id = $1", [orderId])).rowCount === 1;
    });
    const { context, page, problems } = await freshDevice();
    await page.goto(`${stack.webUrl}/orders`);
    await page.getByRole("link", { name: "Email me my orders" }).click();
    await page.waitForURL(/\/orders\/find$/);
    await page.fill("#email", "Forgetful@Browser.example");
    await page.getByRole("button", { name: "Email me my orders" }).click();
    await page.getByRole("status").waitFor();
    assert.match(await page.getByRole("status").innerText(), /If there are orders for that address/);
    const mail = await waitUntil("the lookup email", () =>
      stack.services.mail.messages.find(
        (m) => m.envelopeTo.includes("forgetful@browser.example") && m.subject === "Your Quayside orders",
      ),
    );
    const [link] = orderLinksIn(mail.text);
    assert.equal(link?.orderId, orderId);
    await page.goto(link.url);
    assert.equal(page.url(), `${stack.webUrl}/orders/${orderId}`);
    await page.locator("#order-progress").waitFor();
    assert.deepEqual(problems, []);
    await context.close();
  });
});
