/**
 * An operator in Chromium restocks 3 mugs, goes Back and submits again. The page Back shows is
 * rendered afresh (no-store) with a new movement id, and Chromium puts what was typed back into
 * it, so the id alone cannot tell a repeat: the shop asks before recording the same change twice,
 * and says "That change was already recorded.". Confirming records it a second time, on purpose.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import { launchBrowser, operatorPage, watchProblems } from "./helpers/browser.ts";
import { addOperator } from "./helpers/operators.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";

const OPS_PASSWORD = "operator password for the restock";
const OPERATOR = "tove";

describe("browser: a restock submitted again by Back", () => {
  let stack: TestStack;
  let browser: Browser;

  before(async () => {
    stack = await startTestStack("browser-ops-restock", { web: true });
    await addOperator(stack.env, OPERATOR, OPS_PASSWORD);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  const mugMovements = async () =>
    (await stack.db.query("SELECT delta, reason, operator FROM stock_movements WHERE sku = 'MUG-QUAY' ORDER BY id")).rows;
  const mugStock = async () => (await stack.db.query("SELECT stock FROM products WHERE sku = 'MUG-QUAY'")).rows[0]?.stock;

  it("asks before recording the same restock twice, and records it again only when confirmed", async () => {
    const stockBefore = await mugStock();
    const operator = await operatorPage(browser, stack.webUrl, OPERATOR, OPS_PASSWORD);
    const problems = watchProblems(operator);
    await operator.goto(`${stack.webUrl}/ops/stock`);
    const mug = operator.locator('tr[data-sku="MUG-QUAY"]');
    await operator.fill("#restock-units-MUG-QUAY", "3");
    await operator.fill("#restock-reason-MUG-QUAY", "three mugs found in the back room");
    await mug.getByRole("button", { name: "Restock" }).click();
    await operator.waitForURL(/\/ops\/stock\?movement=/);
    assert.match(await operator.locator(".notice").innerText(), /^Quayside mug: restocked by 3;/);
    assert.equal((await mugMovements()).length, 1);

    await operator.goBack();
    await operator.waitForURL(/\/ops\/stock$/);
    assert.equal(await operator.inputValue("#restock-units-MUG-QUAY"), "3", "Chromium restored what was typed");
    await mug.getByRole("button", { name: "Restock" }).click();
    await operator.locator(".notice", { hasText: "That change was already recorded." }).waitFor();
    assert.equal(
      await operator.locator(".notice").innerText(),
      `That change was already recorded. Quayside mug: restocked by 3; ${stockBefore + 3} for sale now. Recorded for tove.`,
    );
    assert.match(await mug.locator("[role=alert]").innerText(), /You recorded this same change moments ago/);
    assert.deepEqual(await mugMovements(), [{ delta: 3, reason: "three mugs found in the back room", operator: "tove" }]);
    assert.equal(await mugStock(), stockBefore + 3);
    await operator.screenshot({ path: path.join(stack.logDir, "restock-repeat.png"), fullPage: true });

    // A second delivery of the same size is real too: confirmed, it is recorded.
    await mug.getByRole("button", { name: "Restock again" }).click();
    await operator.waitForURL(/\/ops\/stock\?movement=/);
    assert.match(await operator.locator(".notice").innerText(), /^Quayside mug: restocked by 3; \d+ for sale now/);
    assert.equal((await mugMovements()).length, 2);
    assert.equal(await mugStock(), stockBefore + 6);
    // Chromium logs the 409 answer as a failed resource load; anything else is a problem.
    assert.deepEqual(
      problems.filter((p) => !/status of 409/.test(p)),
      [],
    );
  });
});
