/**
 * `/ops/stock` through the web app against real Restate, PostgreSQL and Valkey: operators only
 * (403), CSRF, 422 with the form kept for bad input, 404 for an unknown product, and a restock
 * that the catalog and the order form show at once, recorded once however often it is posted.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { BrowserClient, extract } from "./helpers/browser-client.ts";
import { startInProcessWeb, type InProcessWeb } from "./helpers/in-process-web.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";
import { addOperator, signInOperator } from "./helpers/operators.ts";

const OPS_PASSWORD = "stock keeper password";
const OPERATOR = "stella";

describe("operators' stock page", () => {
  let stack: TestStack;
  let web: InProcessWeb;

  before(async () => {
    stack = await startTestStack("ops-stock-web");
    await addOperator(stack.env, OPERATOR, OPS_PASSWORD);
    web = await startInProcessWeb(stack.env);
    await stack.db.query("UPDATE products SET stock = 0 WHERE sku = 'LAMP-HARBOUR'");
  });
  after(async () => {
    await web?.close();
    await stack?.stop();
  });

  const signedInOperator = () => signInOperator(web.url, OPERATOR, OPS_PASSWORD);
  /** The restock form of one product on the page: its movement id and CSRF token. */
  function restockForm(html: string, sku: string) {
    const form = new RegExp(`<form[^>]*data-sku="${sku}" data-kind="restock"[\\s\\S]*?</form>`).exec(html)?.[0];
    assert.ok(form, `no restock form for ${sku}`);
    return { _csrf: extract(form, "_csrf"), movementId: extract(form, "movementId") };
  }
  const movements = async (sku: string) =>
    (await stack.db.query("SELECT delta, reason, operator FROM stock_movements WHERE sku = $1 ORDER BY id", [sku])).rows;

  it("is for operators only: 403 for the page and for a change, whoever sends the right CSRF token", async () => {
    const stranger = new BrowserClient(web.url);
    const page = await stranger.get("/ops/stock");
    assert.equal(page.status, 403);
    assert.match(page.html, /Sign in as an operator first/);
    const csrf = extract((await stranger.get("/orders/new")).html, "_csrf");
    const change = await stranger.postForm("/ops/stock/LAMP-HARBOUR", {
      _csrf: csrf,
      kind: "restock",
      movementId: "01930000-0000-7000-8000-000000000001",
      units: "5",
      reason: "let me in",
    });
    assert.equal(change.status, 403);
    assert.deepEqual(await movements("LAMP-HARBOUR"), []);
  });

  it("refuses a change without the CSRF token (403), for an unknown product (404)", async () => {
    const operator = await signedInOperator();
    const page = await operator.get("/ops/stock");
    const form = restockForm(page.html, "LAMP-HARBOUR");
    const noCsrf = await operator.postForm("/ops/stock/LAMP-HARBOUR", { movementId: form.movementId, units: "5", reason: "x" });
    assert.equal(noCsrf.status, 403);
    const unknown = await operator.postForm("/ops/stock/NO-SUCH-THING", { ...form, kind: "restock", units: "5", reason: "x" });
    assert.equal(unknown.status, 404);
    const bad = await operator.postForm("/ops/stock/lower-case", { ...form, kind: "restock", units: "5", reason: "x" });
    assert.equal(bad.status, 404);
    assert.deepEqual(await movements("LAMP-HARBOUR"), []);
  });

  it("answers bad input with 422, the form kept and each field's reason, and changes nothing", async () => {
    const operator = await signedInOperator();
    const form = restockForm((await operator.get("/ops/stock")).html, "LAMP-HARBOUR");
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ units: "0", reason: "none" }, /Restock at least 1 unit/],
      [{ units: "-3", reason: "negative" }, /Enter a whole number/],
      [{ units: "2.5", reason: "half" }, /Enter a whole number/],
      [{ units: "9999999", reason: "too many" }, /Enter a whole number/],
      [{ units: "5", reason: "   " }, /Give a reason/],
      [{ units: "5", reason: "x".repeat(301) }, /At most 300 characters/],
      [{ units: "5", reason: "ok", movementId: "not-a-uuid" }, /reload the page/],
    ];
    for (const [fields, message] of cases) {
      const res = await operator.postForm("/ops/stock/LAMP-HARBOUR", { ...form, kind: "restock", ...fields });
      assert.equal(res.status, 422, JSON.stringify(fields));
      assert.match(res.html, message);
      assert.match(res.html, /Please correct the fields marked below/);
      if (fields.units === "0") assert.match(res.html, /name="units" type="number"[^>]*value="0"/);
    }
    const correction = await operator.postForm("/ops/stock/LAMP-HARBOUR", {
      _csrf: form._csrf,
      kind: "correction",
      movementId: form.movementId,
      count: "-1",
      reason: "count",
    });
    assert.equal(correction.status, 422);
    // The form that failed keeps its movement id: submitting it corrected is still one movement.
    assert.match(correction.html, new RegExp(`value="${form.movementId}"`));
    assert.deepEqual(await movements("LAMP-HARBOUR"), []);
  });

  it("restocks a sold-out product: the catalog and the order form show it, and a double submit is one movement", async () => {
    const operator = await signedInOperator();
    const customer = new BrowserClient(web.url);
    assert.match((await customer.get("/")).html, /data-sku="LAMP-HARBOUR"[\s\S]*?Sold out/);
    const page = await operator.get("/ops/stock");
    assert.match(page.html, /Signed in as <strong>stella<\/strong>/);
    const form = restockForm(page.html, "LAMP-HARBOUR");
    const fields = { ...form, kind: "restock", units: "6", reason: "delivery from the foundry" };
    const [first, second] = await Promise.all([
      operator.postForm("/ops/stock/LAMP-HARBOUR", fields),
      operator.postForm("/ops/stock/LAMP-HARBOUR", fields),
    ]);
    assert.equal(first.status, 303);
    assert.equal(second.status, 303);
    assert.match(first.res.headers.get("location") ?? "", new RegExp(`^/ops/stock\\?movement=${form.movementId}`));
    assert.deepEqual(await movements("LAMP-HARBOUR"), [{ delta: 6, reason: "delivery from the foundry", operator: "stella" }]);
    const after = await operator.get(first.res.headers.get("location") ?? "");
    assert.match(after.html, /Harbour lamp: restocked by 6; 6 for sale now\. Recorded for stella\./);
    assert.match(after.html, /<td class="stock-level" data-stock="6">6<\/td>/);
    assert.notEqual(restockForm(after.html, "LAMP-HARBOUR").movementId, form.movementId, "a fresh form, a fresh id");

    assert.match((await customer.get("/")).html, /data-sku="LAMP-HARBOUR"[\s\S]*?data-stock="6">6 in stock/);
    const orderForm = await customer.get("/orders/new");
    assert.match(orderForm.html, /<label for="qty-LAMP-HARBOUR">Harbour lamp<\/label><\/td>\s*<td>[^<]+<\/td>\s*<td>6<\/td>/);
    assert.match(orderForm.html, /id="qty-LAMP-HARBOUR"[^>]*max="6"/);
  });

  it("a correction sets the units for sale to the count", async () => {
    const operator = await signedInOperator();
    const page = await operator.get("/ops/stock");
    const form = /<form[^>]*data-sku="MUG-QUAY" data-kind="correction"[\s\S]*?<\/form>/.exec(page.html)?.[0] ?? "";
    const res = await operator.postForm("/ops/stock/MUG-QUAY", {
      _csrf: extract(form, "_csrf"),
      movementId: extract(form, "movementId"),
      kind: "correction",
      count: "100",
      reason: "stocktake",
    });
    assert.equal(res.status, 303);
    assert.equal(Number((await stack.db.query("SELECT stock FROM products WHERE sku = 'MUG-QUAY'")).rows[0].stock), 100);
    assert.deepEqual(await movements("MUG-QUAY"), [{ delta: -20, reason: "stocktake", operator: "stella" }]);
  });
});
