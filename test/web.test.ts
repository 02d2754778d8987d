/**
 * The web app against real PostgreSQL, Valkey, restate-server and a running worker: forms, PRG,
 * ownership, CSRF, probes, and the SSE stream's snapshot, live delivery and Last-Event-ID replay.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { v7 as uuidv7 } from "uuid";
import { createLogger } from "../shared/logger.ts";
import { channelName, streamKey, type ProgressDraft } from "../shared/progress-event.ts";
import { createOwnershipStore } from "../web/adapters/ownership.store.ts";
import { createProgressPublisher } from "../worker/adapters/progress-publisher.ts";
import { BrowserClient, extract, waitUntil } from "./helpers/browser-client.ts";
import { startInProcessWeb, type InProcessWeb } from "./helpers/in-process-web.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";
import { freePort } from "../scripts/stack/processes.ts";

describe("web", () => {
  let stack: TestStack;
  let web: InProcessWeb;
  let redis: Redis;

  before(async () => {
    stack = await startTestStack("web");
    web = await startInProcessWeb(stack.env);
    redis = new Redis(stack.services.valkeyUrl);
  });
  after(async () => {
    redis?.disconnect();
    await web?.close();
    await stack?.stop();
  });

  const count = async (sql: string, params: unknown[]) => Number((await stack.db.query(sql, params)).rows[0].n);

  async function openForm(client: BrowserClient) {
    const page = await client.get("/orders/new");
    assert.equal(page.status, 200);
    return { csrf: extract(page.html, "_csrf"), orderId: extract(page.html, "orderId") };
  }

  it("serves the catalog with stock, behind a strict CSP and security headers", async () => {
    const client = new BrowserClient(web.url);
    const res = await client.get("/");
    assert.equal(res.status, 200);
    assert.match(res.html, /Quayside mug/);
    assert.match(res.html, /data-stock="\d+"/);
    const csp = res.res.headers.get("content-security-policy") ?? "";
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(res.res.headers.get("x-content-type-options"), "nosniff");
    assert.ok(res.res.headers.get("x-request-id"));
    assert.doesNotMatch(res.html, /<script(?![^>]*\bsrc=)[^>]*>/, "no inline script");
    assert.doesNotMatch(res.html, /\sstyle=/, "no inline style");
    const htmxUrl = /<script src="(\/assets\/htmx\.min\.[0-9a-f]{12}\.js)"/.exec(res.html)?.[1];
    assert.ok(htmxUrl, "htmx is linked under a content-hashed name");
    const htmx = await client.get(htmxUrl);
    assert.equal(htmx.status, 200);
    assert.match(htmx.res.headers.get("content-type") ?? "", /javascript/);
    assert.equal(htmx.res.headers.get("cache-control"), "public, max-age=31536000, immutable");
    assert.equal(res.res.headers.get("cache-control"), "no-store", "pages are never stored by shared caches");
  });

  it("places an order: form → 303 → order page that reaches 100 %", async () => {
    const client = new BrowserClient(web.url);
    const { csrf, orderId } = await openForm(client);
    const setCookie = (await client.request("/orders/new")).headers.getSetCookie().join(";");
    assert.equal(setCookie, "", "the session cookie is set once and reused");
    const post = await client.postForm("/orders", {
      _csrf: csrf,
      orderId,
      email: "ada@example.com",
      paymentMethod: "pm_card_visa",
      "qty[MUG-QUAY]": "2",
    });
    assert.equal(post.status, 303);
    assert.equal(post.res.headers.get("location"), `/orders/${orderId}`);
    const done = await waitUntil("the order to complete", async () => {
      const page = await client.get(`/orders/${orderId}`);
      assert.equal(page.status, 200);
      return /data-status="succeeded"/.test(page.html) ? page.html : null;
    });
    assert.match(done, /<progress id="order-progress" max="100" value="100"/);
    assert.match(done, /Invocation <code>inv_/);
    assert.match(done, new RegExp(`href="${stack.services.restate.adminUrl}/ui/invocations/inv_`));
    assert.match(done, /2 <\/td>|<td>2<\/td>/);
  });

  it("a double submit of the same form is one order, one charge, one email", async () => {
    const client = new BrowserClient(web.url);
    const { csrf, orderId } = await openForm(client);
    const form = { _csrf: csrf, orderId, email: "twice@example.com", paymentMethod: "pm_card_visa", "qty[KNOT-BOOK]": "1" };
    const [a, b] = await Promise.all([client.postForm("/orders", form), client.postForm("/orders", form)]);
    assert.equal(a.status, 303);
    assert.equal(b.status, 303);
    const again = await client.postForm("/orders", form);
    assert.equal(again.status, 303);
    await waitUntil(
      "completion",
      async () => (await count("SELECT count(*) AS n FROM orders WHERE id = $1 AND status = 'fulfilled'", [orderId])) === 1,
    );
    assert.equal(await count("SELECT count(*) AS n FROM payments WHERE order_id = $1", [orderId]), 1);
    // The shipped email is sent after the confirmation is queued: once it is in, a second confirmation would be too.
    await waitUntil("the shipped email", () =>
      stack.services.mail.messages.some(
        (m) => m.envelopeTo.includes("twice@example.com") && m.subject.startsWith("Order shipped"),
      ),
    );
    const confirmations = stack.services.mail.messages.filter(
      (m) => m.envelopeTo.includes("twice@example.com") && m.subject.startsWith("Order confirmed"),
    );
    assert.equal(confirmations.length, 1);
  });

  it("answers htmx submissions with HX-Redirect", async () => {
    const client = new BrowserClient(web.url);
    const { csrf, orderId } = await openForm(client);
    const post = await client.postForm(
      "/orders",
      { _csrf: csrf, orderId, email: "hx@example.com", paymentMethod: "pm_card_visa", "qty[MUG-QUAY]": "1" },
      { "hx-request": "true" },
    );
    assert.equal(post.status, 200);
    assert.equal(post.res.headers.get("hx-redirect"), `/orders/${orderId}`);
  });

  for (const [name, fields, field, message] of [
    ["a bad email", { email: "not-an-email", "qty[MUG-QUAY]": "1" }, "email", "Enter a valid email address"],
    ["no products", { email: "a@example.com" }, "quantities", "Choose at least one product"],
    ["an absurd quantity", { email: "a@example.com", "qty[MUG-QUAY]": "999" }, "qty[MUG-QUAY]", "At most 20 per product"],
    [
      "a negative quantity",
      { email: "a@example.com", "qty[MUG-QUAY]": "-3" },
      "qty[MUG-QUAY]",
      "Quantity must be a whole number",
    ],
    ["an unknown product", { email: "a@example.com", "qty[NOPE-123]": "1" }, "quantities", "Unknown product: NOPE-123"],
    [
      "an unknown payment method",
      { email: "a@example.com", "qty[MUG-QUAY]": "1", paymentMethod: "pm_free_money" },
      "paymentMethod",
      "Choose a payment method",
    ],
  ] as const) {
    it(`re-renders the form with 422 for ${name}, keeping the input and storing nothing`, async () => {
      const client = new BrowserClient(web.url);
      const { csrf, orderId } = await openForm(client);
      const res = await client.postForm("/orders", { _csrf: csrf, orderId, paymentMethod: "pm_card_visa", ...fields });
      assert.equal(res.status, 422);
      assert.match(res.html, /Please correct the fields marked below/);
      const escapedField = field.replace(/[[\]]/g, "\\$&");
      assert.match(res.html, new RegExp(`id="${escapedField}-error">${message}`));
      if (fields.email) assert.match(res.html, new RegExp(`value="${fields.email}"`), "the input is kept");
      assert.equal(extract(res.html, "orderId"), orderId, "the same order id, so a corrected submit is still one order");
      assert.equal(await count("SELECT count(*) AS n FROM orders WHERE id = $1", [orderId]), 0);
      assert.equal(await redis.exists(`owner:order:${orderId}`), 0);
    });
  }

  it("refuses a state-changing request without the session's CSRF token", async () => {
    const victim = new BrowserClient(web.url);
    const { orderId } = await openForm(victim);
    const forged = await victim.postForm("/orders", {
      orderId,
      email: "x@example.com",
      paymentMethod: "pm_card_visa",
      "qty[MUG-QUAY]": "1",
    });
    assert.equal(forged.status, 403);
    const other = new BrowserClient(web.url);
    const { csrf: otherCsrf } = await openForm(other);
    const crossSession = await victim.postForm("/orders", {
      _csrf: otherCsrf,
      orderId,
      email: "x@example.com",
      paymentMethod: "pm_card_visa",
      "qty[MUG-QUAY]": "1",
    });
    assert.equal(crossSession.status, 403);
    assert.equal(await redis.exists(`owner:order:${orderId}`), 0);
  });

  it("rejects oversized forms with 413 and non-form bodies with 415", async () => {
    const client = new BrowserClient(web.url);
    const { csrf } = await openForm(client);
    const big = await client.postForm("/orders", { _csrf: csrf, email: "x".repeat(40_000) });
    assert.equal(big.status, 413);
    const json = await client.request("/orders", { method: "POST", body: "{}", headers: { "content-type": "application/json" } });
    assert.equal(json.status, 415);
  });

  it("shows an order and its stream only to the session that placed it", async () => {
    const owner = new BrowserClient(web.url);
    const { csrf, orderId } = await openForm(owner);
    assert.equal(
      (
        await owner.postForm("/orders", {
          _csrf: csrf,
          orderId,
          email: "own@example.com",
          paymentMethod: "pm_card_visa",
          "qty[MUG-QUAY]": "1",
        })
      ).status,
      303,
    );
    const stranger = new BrowserClient(web.url);
    await stranger.get("/");
    assert.equal((await stranger.get(`/orders/${orderId}`)).status, 404);
    assert.equal((await stranger.sse(`/orders/${orderId}/events`)).status, 404);
    assert.equal((await owner.get(`/orders/${orderId}`)).status, 200);
    assert.equal((await owner.get(`/orders/not-a-uuid`)).status, 404);
    assert.equal((await owner.get(`/orders/${uuidv7()}`)).status, 404);
  });

  it("streams snapshot, then live events, and replays exactly the missed ones after Last-Event-ID", async () => {
    const client = new BrowserClient(web.url);
    await client.get("/");
    const orderId = uuidv7(); // a resource this session owns, driven by the real publisher
    assert.ok(client.sessionId);
    await createOwnershipStore(redis, 600).claim("order", orderId, client.sessionId);
    const publisher = createProgressPublisher(redis, createLogger({ name: "t", level: "silent", format: "json" }), {
      maxLen: 100,
      ttlSeconds: 600,
    });
    const resource = { kind: "order", id: orderId } as const;
    const step = (seq: number, terminal = false): ProgressDraft => ({
      seq,
      kind: terminal ? "terminal" : "step",
      step: `s${seq}`,
      percent: terminal ? 100 : seq * 10,
      status: terminal ? "succeeded" : "running",
      message: `step ${seq}`,
    });

    // Fresh client: snapshot (nothing happened yet: seq 0), then events as they are published.
    const first = client.sse(`/orders/${orderId}/events`, { stopWhen: (_e, all) => all.length >= 4 });
    await waitUntil(
      "the subscription",
      async () => (await redis.pubsub("NUMSUB", channelName({ kind: "order", id: orderId })))[1] === 1,
    );
    for (const seq of [1, 2, 3]) await publisher.publish(resource, step(seq));
    const live = await first;
    assert.equal(live.contentType, "text/event-stream; charset=utf-8");
    assert.deepEqual(
      live.events.map((e) => [e.event, e.id]),
      [
        ["progress", "0"],
        ["progress", "1"],
        ["progress", "2"],
        ["progress", "3"],
      ],
    );
    assert.match(live.events[3]?.data ?? "", /value="30"/);
    // The last client left: the process unsubscribes.
    await waitUntil(
      "the unsubscription",
      async () => (await redis.pubsub("NUMSUB", channelName({ kind: "order", id: orderId })))[1] === 0,
    );

    // Published while nobody listened, plus a replayed duplicate of seq 4.
    for (const seq of [4, 5, 4]) await publisher.publish(resource, step(seq));
    const resumed = client.sse(`/orders/${orderId}/events`, { lastEventId: "3", stopWhen: (e) => e.event === "done" });
    await waitUntil(
      "the resumed subscription",
      async () => (await redis.pubsub("NUMSUB", channelName({ kind: "order", id: orderId })))[1] === 1,
    );
    await publisher.publish(resource, step(6, true));
    const replay = await resumed;
    assert.deepEqual(
      replay.events.map((e) => [e.event, e.id]),
      [
        ["progress", "4"],
        ["progress", "5"],
        ["progress", "6"],
        ["done", null],
      ],
    );
    assert.equal(await redis.xlen(streamKey(resource)), 6);

    // After the terminal event, a reconnect gets nothing new, only the end.
    const late = await client.sse(`/orders/${orderId}/events`, { lastEventId: "6" });
    assert.ok(late.ended);
    assert.deepEqual(
      late.events.map((e) => e.event),
      ["done"],
    );
  });

  it("streams a finished order as its terminal snapshot, then ends", async () => {
    const client = new BrowserClient(web.url);
    const { csrf, orderId } = await openForm(client);
    await client.postForm("/orders", {
      _csrf: csrf,
      orderId,
      email: "fin@example.com",
      paymentMethod: "pm_card_visa",
      "qty[ROPE-COASTER]": "1",
    });
    await waitUntil(
      "completion",
      async () => (await count("SELECT count(*) AS n FROM orders WHERE id = $1 AND status = 'fulfilled'", [orderId])) === 1,
    );
    const res = await client.sse(`/orders/${orderId}/events`);
    assert.ok(res.ended, "the server closed the stream");
    assert.equal(res.events.at(-1)?.event, "done");
    const ids = res.events.filter((e) => e.id !== null).map((e) => Number(e.id));
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
      "ids increase",
    );
    assert.match(res.events[0]?.data ?? "", /data-status="succeeded"/);
    const bad = await client.sse(`/orders/${orderId}/events`, { lastEventId: "abc" });
    assert.equal(bad.status, 400);
  });

  it("answers 503 with a clear page when Restate is unreachable, and stores nothing", async () => {
    const deadPort = await freePort();
    const broken = await startInProcessWeb({ ...stack.env, RESTATE_INGRESS_URL: `http://127.0.0.1:${deadPort}` });
    try {
      const client = new BrowserClient(broken.url);
      const { csrf, orderId } = await openForm(client);
      const res = await client.postForm("/orders", {
        _csrf: csrf,
        orderId,
        email: "down@example.com",
        paymentMethod: "pm_card_visa",
        "qty[MUG-QUAY]": "1",
      });
      assert.equal(res.status, 503);
      assert.match(res.html, /could not reach the order system, so your order was not placed/);
      assert.equal(await redis.exists(`owner:order:${orderId}`), 0);
      assert.equal(await count("SELECT count(*) AS n FROM orders WHERE id = $1", [orderId]), 0);
      const ready = await client.get("/ready");
      assert.equal(ready.status, 503);
      assert.match(ready.html, /"restate":false/);
    } finally {
      await broken.close();
    }
  });

  it("reports liveness, readiness and start-up", async () => {
    const client = new BrowserClient(web.url);
    assert.equal((await client.get("/live")).status, 200);
    assert.equal((await client.get("/startup")).status, 200);
    const ready = await client.get("/ready");
    assert.equal(ready.status, 200);
    assert.deepEqual(JSON.parse(ready.html).checks, { postgres: true, valkey: true, restate: true });
  });
});
