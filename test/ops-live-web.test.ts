/**
 * The operator's live view through the web app: `/ops/overview` draws the last hour from the
 * orders table (seeded rows: bars, points, counts), `/ops/events` streams an order's row when it
 * moves and the approvals list when an order waits for approval or leaves it, a gap in Valkey's
 * delivery ends the stream with a retry, and neither is open to anyone but an operator.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { BrowserClient, extract, postOrderForm, waitUntil, type SseEvent } from "./helpers/browser-client.ts";
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

  it("draws the last hour from the orders table: a bar per minute, a point per minute with completions, counts by status", async () => {
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
    await seed(3, "fulfilled", at(10, 5), 30); // placed and fulfilled in minute −10: p50 30 s there
    await seed(2, "fulfilled", at(5, 5), 90); // placed in minute −5, fulfilled in minute −4: p50 90 s
    await seed(1, "awaiting_approval", at(2, 5), 0);
    await seed(1, "rejected", at(180, 0), 10); // three hours ago: counted by status, not in the hour

    const page = await operator.get("/ops/overview");
    assert.equal(page.status, 200);
    assert.doesNotMatch(page.html, /\sstyle=/, "no inline style under the CSP");
    assert.match(page.html, /sse-connect="\/ops\/events\?topics=overview,approvals"/);
    const bars = [...page.html.matchAll(/<rect class="bar"[^>]*data-minute="([^"]+)" data-orders="(\d+)"/g)];
    assert.equal(bars.length, 60, "one bar per minute of the hour, empty minutes too");
    const ordersAt = (m: Date) => Number(bars.find((b) => b[1] === m.toISOString())?.[2]);
    assert.equal(ordersAt(at(10, 0)), 3);
    assert.equal(ordersAt(at(5, 0)), 2);
    assert.equal(ordersAt(at(2, 0)), 1);
    assert.equal(
      bars.reduce((n, b) => n + Number(b[2]), 0),
      6,
    );
    const points = [...page.html.matchAll(/<circle class="point"[^>]*data-minute="([^"]+)" data-p50="([\d.]+)"/g)];
    assert.deepEqual(
      points.map((p) => [p[1], Number(p[2])]),
      [
        [at(10, 0).toISOString(), 30],
        [at(4, 0).toISOString(), 90],
      ],
    );
    assert.match(page.html, /<polyline class="line"/);
    assert.match(page.html, /data-p50-seconds="30"/, "the hour's median over five completions");
    assert.match(page.html, /data-completed-last-hour="5"/);
    const count = (status: string) => Number(new RegExp(`data-status="${status}">(\\d+)<`).exec(page.html)?.[1]);
    assert.equal(count("fulfilled"), 5);
    assert.equal(count("awaiting_approval"), 1);
    assert.equal(count("rejected"), 1);
    assert.equal(count("all"), 7);
    assert.match(page.html, /<section id="ops-approvals"[^>]*sse-swap="approvals"/);
  });

  it("streams an order's row as it moves, and the approvals list as an order waits for approval and leaves it", async () => {
    const ids: { large?: string; approvedAfter?: number } = {};
    let seen: SseEvent[] = [];
    const streamed = operator.sse("/ops/events", {
      timeoutMs: 40_000,
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

    await new Promise((r) => setTimeout(r, 300)); // the long stream has subscribed
    const feedSubscribers = async () => ((await redis.call("PUBSUB", "NUMSUB", "progress:orders")) as [string, number])[1];
    const also = operator.sse("/ops/events?topics=overview", { timeoutMs: 1_500 });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await feedSubscribers(), 1, "one subscription to the order feed for the process, however many operators watch");
    await also;
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
    await new Promise((r) => setTimeout(r, 500)); // the approvals fragment is on its way
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
  });

  it("ends the stream with a retry when Valkey's delivery had a gap, and the next connection starts from PostgreSQL", async () => {
    const streamed = operator.sse("/ops/events?topics=approvals", { timeoutMs: 15_000 });
    await new Promise((r) => setTimeout(r, 500));
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
    const page = await operator.get("/ops/overview");
    const completedInHour = Number(/data-completed-last-hour="(\d+)"/.exec(page.html)?.[1]);
    assert.ok(completedInHour >= 6 && completedInHour < 10, "the bulk rows are outside the hour");
  });
});
