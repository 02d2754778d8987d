/**
 * The operator's live view through the web app: `/ops/overview` draws the last hour from the
 * orders table (seeded rows: bars, points, counts), `/ops/events` streams an order's row when it
 * moves and the approvals list when an order waits for approval or leaves it, a gap in Valkey's
 * delivery ends the stream with a retry, and neither is open to anyone but an operator.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { BrowserClient, extract, postOrderForm, sseOpened, waitUntil } from "./helpers/browser-client.ts";
import type { SseEvent } from "../scripts/lib/sse-parser.ts";
import { startInProcessWeb, type InProcessWeb } from "./helpers/in-process-web.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";
import { addOperator, signInOperator } from "./helpers/operators.ts";

const OPS_PASSWORD = "live operator password";
const OPERATOR = "lena";

describe("the operator's live view", () => {
  let stack: TestStack;
  let web: InProcessWeb;
  let operator: BrowserClient;
  let redis: Redis;

  before(async () => {
    stack = await startTestStack("ops-live", {
      env: { APPROVAL_THRESHOLD_CENTS: "15000", SHIPPING_DELAY_MS: "300" },
    });
    web = await startInProcessWeb(stack.env);
    redis = new Redis(stack.services.valkeyUrl);
    await addOperator(stack.env, OPERATOR, OPS_PASSWORD);
    operator = await signInOperator(web.url, OPERATOR, OPS_PASSWORD);
  });
  after(async () => {
    redis?.disconnect();
    await web?.close();
    await stack?.stop();
  });

  it("is for operators only", async () => {
    const customer = new BrowserClient(web.url);
    await customer.get("/");
    assert.equal((await customer.get("/ops/overview")).status, 403);
    const stream = await customer.sse("/ops/events", { timeoutMs: 3_000 });
    assert.equal(stream.status, 403);
    assert.equal(stream.events.length, 0);
    assert.equal((await operator.sse("/ops/events?topics=overview,secrets", { timeoutMs: 3_000 })).status, 400);
  });

  /** What the overview page shows, as numbers: bars by minute, points by minute, the hour, counts by status. */
  async function overviewNumbers() {
    const page = await operator.get("/ops/overview");
    assert.equal(page.status, 200);
    const bars = [...page.html.matchAll(/<rect class="bar"[^>]*data-minute="([^"]+)" data-orders="(\d+)"/g)];
    const points = [...page.html.matchAll(/<circle class="point"[^>]*data-minute="([^"]+)" data-p50="([\d.]+)"/g)];
    return {
      html: page.html,
      bars: new Map(bars.map((b) => [b[1]!, Number(b[2])])),
      barCount: bars.length,
      points: new Map(points.map((p) => [p[1]!, Number(p[2])])),
      p50: /data-p50-seconds="([\d.]*)"/.exec(page.html)?.[1],
      completed: Number(/data-completed-last-hour="(\d+)"/.exec(page.html)?.[1]),
      count: (status: string) => Number(new RegExp(`data-status="${status}">(\\d+)<`).exec(page.html)?.[1] ?? 0),
    };
  }

  /** The hour's completion times as the overview defines them, read before the test adds its own. */
  async function completionSecondsInHour(): Promise<number[]> {
    const r = await stack.db.query(
      `SELECT extract(epoch FROM updated_at - created_at)::float8 AS s FROM orders
        WHERE status = 'fulfilled' AND updated_at >= date_trunc('minute', now()) - interval '59 minutes'`,
    );
    return r.rows.map((row: { s: number }) => row.s);
  }

  /** percentile_cont(0.5), to one decimal as the page shows it. */
  function median(values: number[]): number {
    const v = [...values].sort((a, b) => a - b);
    const at = (v.length - 1) / 2;
    const m = v[Math.floor(at)]! + (v[Math.ceil(at)]! - v[Math.floor(at)]!) * (at - Math.floor(at));
    return Math.round(m * 10) / 10;
  }

  it("draws the last hour from the orders table: a bar per minute, a point per minute with completions, counts by status", async () => {
    // Whatever other tests left in the table stays; this test asserts what its own rows add. Its
    // minutes (35 to 40 ago) are long before anything else in this file ran.
    const before = await overviewNumbers();
    const earlier = await completionSecondsInHour();
    const { minute } = (await stack.db.query(`SELECT date_trunc('minute', now()) AS minute`)).rows[0] as { minute: Date };
    const at = (minutesAgo: number, seconds: number) => new Date(minute.getTime() - minutesAgo * 60_000 + seconds * 1000);
    const seed = async (n: number, status: string, createdAt: Date, completedAfterS: number) => {
      for (let i = 0; i < n; i++)
        await stack.db.query(
          `INSERT INTO orders (id, email, payment_method, total_cents, currency, status, created_at, updated_at)
           VALUES (gen_random_uuid(), 'seed@example.com', 'pm_card_visa', 1200, 'EUR', $1, $2, $2::timestamptz + make_interval(secs => $3))`,
          [status, createdAt, completedAfterS],
        );
    };
    await seed(3, "fulfilled", at(40, 5), 30); // placed and fulfilled in minute −40: p50 30 s there
    await seed(2, "fulfilled", at(35, 5), 90); // placed in minute −35, fulfilled in minute −34: p50 90 s
    await seed(1, "awaiting_approval", at(32, 5), 0);
    await seed(1, "rejected", at(180, 0), 10); // three hours ago: counted by status, not in the hour

    const page = await overviewNumbers();
    assert.doesNotMatch(page.html, /\sstyle=/, "no inline style under the CSP");
    assert.match(page.html, /sse-connect="\/ops\/events\?topics=overview,approvals"/);
    assert.equal(page.barCount, 60, "one bar per minute of the hour, empty minutes too");
    const added = (m: string) => (page.bars.get(m) ?? Number.NaN) - (before.bars.get(m) ?? 0);
    assert.equal(added(at(40, 0).toISOString()), 3);
    assert.equal(added(at(35, 0).toISOString()), 2);
    assert.equal(added(at(32, 0).toISOString()), 1);
    assert.equal(
      [...page.bars.keys()].reduce((n, m) => n + added(m), 0),
      6,
    );
    assert.equal(page.points.get(at(40, 0).toISOString()), 30);
    assert.equal(page.points.get(at(34, 0).toISOString()), 90);
    assert.equal(page.points.size - before.points.size, 2, "a point for each of the two minutes with completions");
    assert.match(page.html, /<polyline class="line"/);
    assert.equal(page.completed - before.completed, 5);
    assert.equal(Number(page.p50), median([...earlier, 30, 30, 30, 90, 90]), "the hour's median, the five added among them");
    for (const [status, n] of [
      ["fulfilled", 5],
      ["awaiting_approval", 1],
      ["rejected", 1],
      ["all", 7],
    ] as const)
      assert.equal(page.count(status) - before.count(status), n, status);
    assert.match(page.html, /<section id="ops-approvals"[^>]*sse-swap="approvals"/);
  });

  it("streams an order's row as it moves, and the approvals list as an order waits for approval and leaves it", async () => {
    const ids: { large?: string; approvedAfter?: number } = {};
    let seen: SseEvent[] = [];
    const long = sseOpened(operator, "/ops/events", {
      timeoutMs: 60_000,
      stopWhen: (_e, all) => {
        seen = all;
        return (
          ids.approvedAfter !== undefined &&
          all.slice(ids.approvedAfter).some((e) => e.event === "approvals" && !e.data.includes(`approval-row-${ids.large}`))
        );
      },
    });
    // What the page shows now, from PostgreSQL, before anything moves.
    const first = await operator.sse("/ops/events", { stopWhen: (_e, all) => all.length === 3, timeoutMs: 10_000 });
    assert.deepEqual(
      first.events.map((e) => e.event),
      ["approvals", "overview", "orders-newest"],
    );
    assert.match(first.events[2]!.data, /^<tbody id="order-rows" sse-swap="orders-newest" hx-swap="outerHTML">/);

    // Two operator streams open at once, each past its first event (so each has subscribed): one
    // subscription to the order feed between them.
    const streamed = (await long).done;
    const feedSubscribers = async () => ((await redis.call("PUBSUB", "NUMSUB", "progress:orders")) as [string, number])[1];
    const leave = new AbortController();
    const also = await sseOpened(operator, "/ops/events?topics=overview", { timeoutMs: 30_000, signal: leave.signal });
    assert.equal(await feedSubscribers(), 1, "one subscription to the order feed for the process, however many operators watch");
    leave.abort();
    await also.done;
    const customer = new BrowserClient(web.url);
    const small = await postOrderForm(customer, { email: "live-small@example.com" });
    assert.equal(small.status, 303);
    await waitUntil(
      "fulfilment",
      async () =>
        (await stack.db.query("SELECT status FROM orders WHERE id = $1", [small.orderId])).rows[0]?.status === "fulfilled",
    );
    const large = await postOrderForm(customer, { email: "live-large@example.com", quantities: { "LAMP-HARBOUR": "2" } });
    ids.large = large.orderId;
    await waitUntil(
      "the approval wait",
      async () =>
        (await stack.db.query("SELECT status FROM orders WHERE id = $1", [large.orderId])).rows[0]?.status ===
        "awaiting_approval",
    );
    // The approvals list that shows it waiting has reached the operator before it is approved.
    await waitUntil("the approvals list with the large order", () =>
      seen.some((e) => e.event === "approvals" && e.data.includes(`approval-row-${large.orderId}`)),
    );
    const dashboard = await operator.get("/ops");
    const approve = await operator.postForm(`/ops/orders/${large.orderId}/approve`, { _csrf: extract(dashboard.html, "_csrf") });
    assert.equal(approve.status, 303);
    ids.approvedAfter = seen.length;

    const { events, status } = await streamed;
    await waitUntil("the feed's subscription to end with the last operator stream", async () => (await feedSubscribers()) === 0);
    assert.equal(status, 200);
    const rows = events.filter((e) => e.event === `order-${small.orderId}`);
    assert.ok(rows.length >= 1, "the small order's row arrived");
    for (const r of rows)
      assert.match(r.data, new RegExp(`^<tr id="order-row-${small.orderId}" [^>]*sse-swap="order-${small.orderId}"`));
    assert.match(rows.at(-1)!.data, /status-fulfilled/, "the last row shows it fulfilled");
    assert.ok(
      events.some((e) => e.event === "orders-newest" && e.data.includes(`id="order-row-${small.orderId}"`)),
      "a new order comes in on the list's first page",
    );
    const approvals = events.filter((e) => e.event === "approvals");
    const waiting = approvals.findIndex((e) => e.data.includes(`approval-row-${large.orderId}`));
    assert.ok(waiting > 0, "the approvals list is sent again when the large order waits");
    assert.match(approvals[waiting]!.data, new RegExp(`action="/ops/orders/${large.orderId}/approve"`));
    assert.match(approvals[waiting]!.data, new RegExp(`name="_csrf" value="${extract(dashboard.html, "_csrf")}"`));
    assert.ok(
      approvals.slice(waiting + 1).some((e) => !e.data.includes(`approval-row-${large.orderId}`)),
      "and again without it once approved",
    );
    assert.ok(
      events.some((e) => e.event === "overview"),
      "the overview follows the orders",
    );
    // Nothing of this test is left moving for the next one.
    await waitUntil(
      "the approved order's fulfilment",
      async () =>
        (await stack.db.query("SELECT status FROM orders WHERE id = $1", [large.orderId])).rows[0]?.status === "fulfilled",
    );
  });

  it("sends a row whose order feed message was lost: the feed's check finds the write in PostgreSQL", async () => {
    const customer = new BrowserClient(web.url);
    const order = await postOrderForm(customer, { email: "live-lost@example.com" });
    assert.equal(order.status, 303);
    await waitUntil(
      "fulfilment",
      async () =>
        (await stack.db.query("SELECT status FROM orders WHERE id = $1", [order.orderId])).rows[0]?.status === "fulfilled",
    );
    const rowEvent = `order-${order.orderId}`;
    const streamed = (
      await sseOpened(operator, "/ops/events?topics=orders", {
        timeoutMs: 60_000,
        stopWhen: (e) => e.event === rowEvent && /status-refunded/.test(e.data),
      })
    ).done;
    // A write with no feed message: what a publish lost on its way looks like to the web.
    await stack.db.query(`UPDATE orders SET status = 'refunded', updated_at = now() WHERE id = $1`, [order.orderId]);
    const { events, ended } = await streamed;
    assert.equal(ended, false, "the stream was still open when the row came");
    const row = events.find((e) => e.event === rowEvent && /status-refunded/.test(e.data));
    assert.ok(row, "the operator's page got the row as PostgreSQL has it");
  });

  it("ends the stream with a retry when Valkey's delivery had a gap, and the next connection starts from PostgreSQL", async () => {
    const streamed = (await sseOpened(operator, "/ops/events?topics=approvals", { timeoutMs: 30_000 })).done;
    assert.ok(
      ((await redis.call("PUBSUB", "NUMSUB", "progress:orders")) as [string, number])[1] >= 1,
      "the web is subscribed to the order feed",
    );
    await redis.call("CLIENT", "KILL", "TYPE", "pubsub");
    const { events, ended } = await streamed;
    assert.equal(ended, true, "the server ended the stream: the browser reconnects");
    assert.deepEqual(
      events.map((e) => e.event),
      ["approvals"],
    );
    const again = await operator.sse("/ops/events?topics=approvals", { stopWhen: () => true, timeoutMs: 10_000 });
    assert.equal(again.events[0]?.event, "approvals");
  });

  it("keeps the overview's queries on their indexes at 100,000 orders", async () => {
    // One completion in the hour of this test's own, so that the count it checks is not zero to begin with.
    await stack.db.query(
      `INSERT INTO orders (id, email, payment_method, total_cents, currency, status, created_at, updated_at)
       VALUES (gen_random_uuid(), 'recent@example.com', 'pm_card_visa', 1200, 'EUR', 'fulfilled', now() - interval '1 minute', now())`,
    );
    const completedInHour = async () =>
      Number(/data-completed-last-hour="(\d+)"/.exec((await operator.get("/ops/overview")).html)?.[1]);
    const inHourBefore = await completedInHour();
    assert.ok(inHourBefore >= 1);
    await stack.db.query(
      `INSERT INTO orders (id, email, payment_method, total_cents, currency, status, created_at, updated_at)
       SELECT gen_random_uuid(), 'bulk' || g || '@example.com', 'pm_card_visa', 1200, 'EUR',
              CASE WHEN g % 10 = 0 THEN 'rejected' ELSE 'fulfilled' END,
              now() - interval '2 days' - g * interval '1 second', now() - interval '2 days' - g * interval '1 second' + interval '40 seconds'
         FROM generate_series(1, 100000) AS g`,
    );
    await stack.db.query("ANALYZE orders");
    const plan = async (sql: string) =>
      ((await stack.db.query(`EXPLAIN ${sql}`)).rows as Array<{ "QUERY PLAN": string }>).map((r) => r["QUERY PLAN"]).join("\n");
    const placed = await plan(
      `SELECT date_trunc('minute', created_at), count(*) FROM orders WHERE created_at >= date_trunc('minute', now()) - interval '59 minutes' GROUP BY 1`,
    );
    assert.match(placed, /orders_created_id_idx/);
    const completed = await plan(
      `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM updated_at - created_at)) FROM orders
        WHERE status = 'fulfilled' AND updated_at >= date_trunc('minute', now()) - interval '59 minutes'`,
    );
    assert.match(completed, /orders_fulfilled_at_idx/);
    assert.equal(await completedInHour(), inHourBefore, "the bulk rows are outside the hour");
  });
});
