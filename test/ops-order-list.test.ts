/**
 * The operator's order list at 100,000 orders: every query shape it sends (first page, next page,
 * status filter, email search, id search, and those combined) reads an index on orders, never a
 * sequential scan, and stops after a page (no sort of the whole table). The plans are asserted,
 * not the clock. Then the pages themselves, through the web: each row once across the pages, ties
 * on created_at included, and each filter finding exactly what SQL says it should.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { orderReference } from "../shared/order-reference.ts";
import { orderPageQuery } from "../web/adapters/orders-read.repo.ts";
import { parseOrderListQuery, type OrderListQuery } from "../web/order-list-query.ts";
import { BrowserClient, extract } from "./helpers/browser-client.ts";
import { startInProcessWeb, type InProcessWeb } from "./helpers/in-process-web.ts";
import { addOperator } from "./helpers/operators.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";

const ORDERS = 100_000;

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  Plans?: PlanNode[];
}

const nodes = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(nodes)];

describe("the operator's order list at 100,000 orders", () => {
  let stack: TestStack;
  let web: InProcessWeb;
  let operator: BrowserClient;

  before(async () => {
    stack = await startTestStack("ops-order-list", { worker: false });
    // Three orders share each created_at (ties for the cursor); 20,000 customers with five orders
    // each; nine common statuses and a rare one (failed, 1 in 500); ids spread over the uuid space.
    await stack.db.query(
      `INSERT INTO orders (id, email, payment_method, total_cents, currency, status, created_at)
       SELECT md5('order' || n)::uuid, 'customer' || (n % 20000) || '@example.com', 'pm_card_visa', 100 + n % 5000, 'EUR',
              CASE WHEN n % 500 = 0 THEN 'failed'
                   ELSE (ARRAY['received','reserved','paid','awaiting_approval','confirmed','shipped','fulfilled','rejected','cancelled'])[1 + n % 9] END,
              timestamptz '2026-01-01 00:00:00+00' + (n / 3) * interval '1 second'
         FROM generate_series(1, $1::int) AS n`,
      [ORDERS],
    );
    await stack.db.query("ANALYZE orders");
    await addOperator(stack.env, "ana", "ana's long password");
    web = await startInProcessWeb(stack.env);
    operator = new BrowserClient(web.url);
    const login = await operator.get("/ops");
    const ok = await operator.postForm("/ops/login", {
      _csrf: extract(login.html, "_csrf"),
      name: "ana",
      password: "ana's long password",
    });
    assert.equal(ok.status, 303);
  });
  after(async () => {
    await web?.close();
    await stack?.stop();
  });

  /** The query the web sends for this query string, and its plan. */
  async function planOf(qs: Record<string, string>): Promise<PlanNode[]> {
    const parsed = parseOrderListQuery(qs);
    assert.ok(parsed.ok, JSON.stringify(qs));
    const { text, values } = orderPageQuery((parsed as { query: OrderListQuery }).query, 50);
    const r = await stack.db.query(`EXPLAIN (FORMAT JSON) ${text}`, values);
    return nodes(r.rows[0]["QUERY PLAN"][0].Plan as PlanNode);
  }

  /** A cursor in the middle of the data, as a page link carries it. */
  async function cursorAt(where = "true", params: unknown[] = [], offset = 2000): Promise<string> {
    const r = await stack.db.query(
      `SELECT (extract(epoch FROM created_at) * 1000000)::bigint::text AS us, id FROM orders WHERE ${where}
        ORDER BY created_at DESC, id DESC OFFSET ${offset} LIMIT 1`,
      params,
    );
    return `${r.rows[0].us}.${r.rows[0].id}`;
  }

  it("reads an index for every query shape: no sequential scan on orders, no sort of the table", async () => {
    const someId = String((await stack.db.query("SELECT id FROM orders ORDER BY md5(id::text) LIMIT 1")).rows[0].id);
    // [shape, query string, the index it must read (one of several, or null: any index on orders),
    // read in order (no Sort)]. A search narrows to a few rows first (the planner may sort those);
    // the list and its status filter must read in index order and stop after a page, or they would
    // sort 100,000 rows. For a common status the planner may read the list's own index and skip
    // the other statuses (a page is near); a rare one must read the status index.
    const common = ["orders_status_created_id_idx", "orders_created_id_idx"];
    const shapes: Array<[string, Record<string, string>, string | string[] | null, boolean]> = [
      ["first page", {}, "orders_created_id_idx", true],
      ["next page", { after: await cursorAt() }, "orders_created_id_idx", true],
      ["previous page", { before: await cursorAt() }, "orders_created_id_idx", true],
      ["status filter", { status: "shipped" }, common, true],
      ["status filter, next page", { status: "shipped", after: await cursorAt("status = $1", ["shipped"]) }, common, true],
      ["status filter, previous page", { status: "shipped", before: await cursorAt("status = $1", ["shipped"]) }, common, true],
      ["rare status filter", { status: "failed" }, "orders_status_created_id_idx", true],
      [
        "rare status filter, next page",
        { status: "failed", after: await cursorAt("status = $1", ["failed"], 100) },
        "orders_status_created_id_idx",
        true,
      ],
      [
        "rare status filter, previous page",
        { status: "failed", before: await cursorAt("status = $1", ["failed"], 100) },
        "orders_status_created_id_idx",
        true,
      ],
      ["email search", { q: "Customer42@Example.com" }, "orders_email_created_id_idx", false],
      ["email search and status", { q: "customer42@example.com", status: "paid" }, "orders_email_created_id_idx", false],
      ["email search, next page", { q: "customer42@example.com", after: await cursorAt() }, "orders_email_created_id_idx", false],
      ["whole order id", { q: someId }, "orders_pkey", false],
      ["order id prefix", { q: someId.slice(0, 8) }, "orders_pkey", false],
      ["short order id prefix", { q: someId.slice(0, 4) }, null, false],
      ["short reference (the id's end, as emails show it)", { q: orderReference(someId) }, "orders_reference_idx", false],
      ["order id prefix and status", { q: someId.slice(0, 6), status: "received" }, null, false],
    ];
    for (const [shape, qs, index, ordered] of shapes) {
      const plan = await planOf(qs);
      const summary = plan.map((n) => `${n["Node Type"]}${n["Index Name"] ? ` ${n["Index Name"]}` : ""}`).join(" > ");
      assert.ok(!plan.some((n) => n["Node Type"] === "Seq Scan"), `${shape}: ${summary}`);
      const scans = plan.filter((n) => /Index/.test(n["Node Type"]) && n["Index Name"]?.startsWith("orders_"));
      assert.ok(scans.length > 0, `${shape} reads an index on orders: ${summary}`);
      const wanted = index === null ? null : [index].flat();
      if (wanted)
        assert.ok(
          scans.some((n) => wanted.includes(n["Index Name"] ?? "")),
          `${shape} uses ${wanted.join(" or ")}: ${summary}`,
        );
      if (ordered)
        assert.ok(!plan.some((n) => n["Node Type"] === "Sort"), `${shape} reads in order and stops at a page: ${summary}`);
      // Kept in the test log: what each shape does.
      console.log(`${shape}: ${summary}`);
    }
  });

  /** The ids in the all-orders table (the table of orders awaiting approval comes before it). */
  const allOrders = (html: string) =>
    [...html.slice(html.indexOf('class="lines all-orders"')).matchAll(/<tr [^>]*data-order-id="([0-9a-f-]{36})"/g)].map(
      (m) => m[1]!,
    );
  const nextLink = (html: string) => /<a href="([^"]+)" rel="next">/.exec(html)?.[1]?.replaceAll("&amp;", "&");

  it("pages by keyset through the web: the pages continue exactly where SQL says, ties included", async () => {
    const expected = (await stack.db.query("SELECT id FROM orders ORDER BY created_at DESC, id DESC LIMIT 200")).rows.map(
      (r) => r.id as string,
    );
    let page = await operator.get("/ops");
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      assert.equal(page.status, 200);
      const ids = allOrders(page.html);
      assert.equal(ids.length, 50);
      seen.push(...ids);
      const next = nextLink(page.html);
      assert.ok(next, "a link to older orders");
      page = await operator.get(next);
    }
    assert.deepEqual(seen, expected);
    assert.match(page.html, /rel="first">Newest orders</);

    // And back: each "Newer orders" shows the page before, up to the first, which has no way back.
    for (let i = 3; i >= 0; i--) {
      const newer = /<a href="([^"]+)" rel="prev">/.exec(page.html)?.[1]?.replaceAll("&amp;", "&");
      assert.ok(newer, `a link to newer orders on page ${i + 2}`);
      page = await operator.get(newer);
      assert.deepEqual(allOrders(page.html), expected.slice(i * 50, i * 50 + 50), `back to page ${i + 1}`);
    }
    assert.doesNotMatch(page.html, /rel="prev"|rel="first"/, "the first page");
    assert.match(nextLink(page.html) ?? "", /after=/);
  });

  it("filters by status and finds by email or order id, as SQL does", async () => {
    const rows = async (sql: string, params: unknown[]) => (await stack.db.query(sql, params)).rows.map((r) => r.id as string);

    const shipped = await operator.get("/ops?status=shipped");
    assert.deepEqual(
      allOrders(shipped.html),
      await rows("SELECT id FROM orders WHERE status = $1 ORDER BY created_at DESC, id DESC LIMIT 50", ["shipped"]),
    );
    const secondShipped = await operator.get(nextLink(shipped.html)!);
    assert.deepEqual(
      allOrders(secondShipped.html),
      await rows("SELECT id FROM orders WHERE status = $1 ORDER BY created_at DESC, id DESC OFFSET 50 LIMIT 50", ["shipped"]),
    );
    assert.match(secondShipped.html, /<option value="shipped" selected>/, "the filter stays chosen across pages");

    const byEmail = await operator.get(`/ops?q=${encodeURIComponent(" Customer42@EXAMPLE.com ")}`);
    assert.deepEqual(
      allOrders(byEmail.html),
      await rows("SELECT id FROM orders WHERE email = $1 ORDER BY created_at DESC, id DESC", ["customer42@example.com"]),
    );
    assert.equal(allOrders(byEmail.html).length, 5);
    assert.equal(nextLink(byEmail.html), undefined, "one page: no link to more");

    const one = (await rows("SELECT id FROM orders ORDER BY md5(id::text) LIMIT 1", []))[0]!;
    assert.deepEqual(allOrders((await operator.get(`/ops?q=${one}`)).html), [one]);
    assert.deepEqual(allOrders((await operator.get(`/ops?q=${one.toUpperCase().replaceAll("-", "")}`)).html), [one]);
    // The reference customers quote from an email subject finds that order, whatever its case.
    assert.deepEqual(allOrders((await operator.get(`/ops?q=${orderReference(one)}`)).html), [one]);
    assert.deepEqual(allOrders((await operator.get(`/ops?q=${orderReference(one).toUpperCase()}`)).html), [one]);
    const prefix = one.slice(0, 5);
    assert.deepEqual(
      allOrders((await operator.get(`/ops?q=${prefix}`)).html),
      await rows("SELECT id FROM orders WHERE id::text LIKE $1 ORDER BY created_at DESC, id DESC LIMIT 50", [`${prefix}%`]),
    );
    const none = await operator.get("/ops?q=nobody%40example.com&status=failed");
    assert.match(none.html, /No order matches/);
  });
});
