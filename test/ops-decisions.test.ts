/**
 * The decisions page pages like the order list: by keyset, newest first, over three tables
 * (operators' decisions, refunds and stock movements) whose rows share timestamps, within a table
 * and across tables. Walking "Older decisions" to the end shows each row exactly once, newest
 * first; walking "Newer decisions" back shows the same pages. A page link that is not ours is a
 * 400. Rows are written straight into the tables, as their writers would.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { DECISIONS_PAGE_SIZE } from "../web/routes/ops-decisions.routes.ts";
import type { BrowserClient } from "./helpers/browser-client.ts";
import { startInProcessWeb, type InProcessWeb } from "./helpers/in-process-web.ts";
import { addOperator, signInOperator } from "./helpers/operators.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";

const PASSWORD = "the auditor's long password";
const EACH = 60;

interface Row {
  kind: string;
  at: string;
  reason: string;
}

function rowsOf(page: string): Row[] {
  return [
    ...page.matchAll(/<tr data-kind="([a-z]+)"[^>]*>\s*<td><time datetime="([^"]+)">[\s\S]*?<td>([^<]*)<\/td>\s*<\/tr>/g),
  ].map((m) => ({
    kind: m[1]!,
    at: m[2]!,
    reason: m[3]!,
  }));
}
const link = (page: string, rel: string) =>
  [...page.matchAll(/<a href="([^"]+)" rel="([a-z]+)">/g)].find((m) => m[2] === rel)?.[1];

describe("the operator decisions page", () => {
  let stack: TestStack;
  let web: InProcessWeb;
  let auditor: BrowserClient;

  before(async () => {
    stack = await startTestStack("ops-decisions", { worker: false });
    await addOperator(stack.env, "ada", PASSWORD);
    // Three rows of each table per second, and the three tables at the same seconds: ties everywhere.
    await stack.db.query(
      `WITH t AS (SELECT n, timestamptz '2026-03-01 09:00:00+00' + (n / 3) * interval '1 second' AS at FROM generate_series(1, $1::int) n),
       o AS (INSERT INTO orders (id, email, payment_method, total_cents, currency, status, created_at)
             SELECT md5('refunded' || n)::uuid, 'r' || n || '@example.com', 'pm_card_visa', 1400, 'EUR', 'refunded', at FROM t),
       d AS (INSERT INTO operator_decisions (order_id, operator, action, outcome, reason, created_at)
             SELECT md5('decided' || n)::uuid, 'ada', (ARRAY['approve','reject','cancel','dispatch'])[1 + n % 4], 'accepted', 'decision ' || n, at FROM t),
       m AS (INSERT INTO stock_movements (idempotency_id, sku, kind, delta, stock_after, reason, operator, created_at)
             SELECT md5('moved' || n)::uuid, 'MUG-QUAY', 'restock', 1, 200 + n, 'movement ' || n, 'ada', at FROM t)
       INSERT INTO order_refunds (order_id, amount_cents, currency, provider_ref, operator, reason, created_at)
       SELECT md5('refunded' || n)::uuid, 1400, 'EUR', 'ref_' || n, 'ada', 'refund ' || n, at FROM t`,
      [EACH],
    );
    web = await startInProcessWeb(stack.env);
    auditor = await signInOperator(web.url, "ada", PASSWORD);
  });
  after(async () => {
    await web?.close();
    await stack?.stop();
  });

  it("walks every decision once, newest first, and back again", async () => {
    const pages: Row[][] = [];
    let lastHtml = "";
    for (let next: string | undefined = "/ops/decisions"; next; next = link(lastHtml, "next")) {
      const page = await auditor.get(next);
      assert.equal(page.status, 200, next);
      pages.push(rowsOf(page.html));
      lastHtml = page.html;
    }
    const all = pages.flat();
    assert.equal(pages.length, Math.ceil((3 * EACH) / DECISIONS_PAGE_SIZE));
    assert.ok(pages.slice(0, -1).every((p) => p.length === DECISIONS_PAGE_SIZE));
    assert.equal(all.length, 3 * EACH);
    assert.equal(new Set(all.map((r) => r.reason)).size, 3 * EACH, "each row once");
    for (let i = 1; i < all.length; i++) assert.ok(all[i - 1]!.at >= all[i]!.at, `newest first at row ${i}`);
    // The newest second holds one row of each table.
    assert.deepEqual(
      all.slice(0, 3).map((r) => r.at),
      Array(3).fill(all[0]!.at),
    );
    assert.deepEqual(new Set(all.slice(0, 3).map((r) => r.reason.split(" ")[0])), new Set(["decision", "movement", "refund"]));

    // Back from the last page by "Newer decisions": the same pages, in reverse.
    const back: Row[][] = [];
    for (let prev = link(lastHtml, "prev"); prev; prev = link(lastHtml, "prev")) {
      lastHtml = (await auditor.get(prev)).html;
      back.unshift(rowsOf(lastHtml));
    }
    assert.deepEqual(back, pages.slice(0, -1));
  });

  it("answers a page link that is not ours with 400", async () => {
    for (const q of ["after=nonsense", "before=1.x.2", "after=1.d.1&before=1.d.2"]) {
      assert.equal((await auditor.get(`/ops/decisions?${q}`)).status, 400, q);
    }
  });
});
