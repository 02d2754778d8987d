/**
 * Running it in production: Prometheus metrics on the operations ports (no ids as labels), secrets
 * kept out of the logs, and SIGTERM while streams are open and POSTs are in flight: no 5xx,
 * readiness fails first, the streams end, the POSTs finish, exit 0.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { BrowserClient, extract, waitUntil, postOrderForm } from "./helpers/browser-client.ts";
import { createOrdersClient } from "../web/adapters/orders-client.ts";
import { operatorCommand } from "./helpers/operators.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";

const SECRETS = {
  SESSION_SECRET: "session-secret-that-must-never-be-logged-1234567890",
  SMTP_PASSWORD: "smtp-password-that-must-never-be-logged",
  OPENAI_API_KEY: "sk-test-key-that-must-never-be-logged",
  LINK_SIGNING_KEYS: "link-signing-key-that-must-never-be-logged-0123456789",
};
const OPERATOR_PASSWORD = "operator-password-that-must-never-be-logged";

describe("operations", () => {
  let stack: TestStack;

  before(async () => {
    stack = await startTestStack("operations", {
      web: true,
      env: {
        ...SECRETS,
        // A drain long enough never to cut off what the drain test holds; the web exits as soon as it is done.
        SHUTDOWN_DRAIN_MS: "60000",
        // A Harbour lamp (89 EUR) waits a day for an operator; a book (12 EUR) or a mug goes straight through.
        APPROVAL_THRESHOLD_CENTS: "5000",
        APPROVAL_TIMEOUT_MS: "86400000",
        PAYMENT_LATENCY_MS: "300",
        LOG_LEVEL: "trace",
      },
    });
  });
  after(async () => {
    await stack?.stop();
  });

  const ops = (port: number | undefined, p: string) => fetch(`http://127.0.0.1:${port}${p}`);

  const placeOrder = (client: BrowserClient, email: string, quantities?: Record<string, string>) =>
    postOrderForm(client, { email, quantities });

  it("exports RED metrics per route template and workflow outcomes, without ids", async () => {
    const client = new BrowserClient(stack.webUrl);
    const { orderId } = await placeOrder(client, "metrics@example.com");
    await waitUntil(
      "fulfilment",
      async () => (await stack.db.query("SELECT status FROM orders WHERE id = $1", [orderId])).rows[0]?.status === "fulfilled",
    );
    await client.get(`/orders/${orderId}`);
    await client.get("/definitely-missing");

    const web = await (await ops(stack.ports.webMetrics, "/metrics")).text();
    assert.match(web, /quayside_http_requests_total\{method="POST",route="\/orders",status="303"\} \d+/);
    assert.match(web, /quayside_http_requests_total\{method="GET",route="\/orders\/:id",status="200"\} \d+/);
    assert.match(web, /quayside_http_requests_total\{method="GET",route="unmatched",status="404"\} \d+/);
    assert.match(web, /quayside_http_request_duration_seconds_bucket/);
    assert.doesNotMatch(web, new RegExp(orderId), "no order id in any label");

    const worker = await (await ops(stack.ports.workerMetrics, "/metrics")).text();
    assert.match(worker, /quayside_workflow_outcomes_total\{kind="order",outcome="fulfilled"\} [1-9]/);
    assert.match(worker, /quayside_step_seconds_count\{service="OrderFulfilment",step="place order",result="ok"\} [1-9]/);
    assert.match(worker, /quayside_emails_total\{outcome="sent"\} [1-9]/);
    assert.match(worker, /quayside_handler_attempt_seconds_count\{service="OrderFulfilment",handler="run",result="ok"\}/);
    assert.doesNotMatch(worker, new RegExp(orderId));
    assert.equal((await ops(stack.ports.workerMetrics, "/ready")).status, 200);
    assert.equal((await ops(stack.ports.workerMetrics, "/live")).status, 200);
  });

  it("keeps secrets out of the logs", async () => {
    const added = await operatorCommand(stack.env, ["add", "ana"], {
      extraEnv: { OPERATOR_PASSWORD, LOG_LEVEL: "trace", LOG_FORMAT: "json" },
    });
    assert.equal(added.code, 0, added.stderr);
    const operator = new BrowserClient(stack.webUrl);
    const login = await operator.get("/ops");
    const ok = await operator.postForm("/ops/login", {
      _csrf: extract(login.html, "_csrf"),
      name: "ana",
      password: OPERATOR_PASSWORD,
    });
    assert.equal(ok.status, 303);
    await operator.postForm("/ops/login", {
      _csrf: extract(login.html, "_csrf"),
      name: "ana",
      password: "wrong-but-secret-guess",
    });
    const logs = ["web.log", "worker.log"].map((f) => readFileSync(path.join(stack.logDir, f), "utf8")).join("\n");
    assert.ok(logs.length > 1000, "the processes did log (at trace level)");
    for (const [name, value] of Object.entries({ ...SECRETS, OPERATOR_PASSWORD }))
      assert.ok(!`${logs}${added.stdout}${added.stderr}`.includes(value), `${name} appears in the logs`);
    assert.ok(!logs.includes("wrong-but-secret-guess"), "a typed password appears in the logs");
    assert.ok(!logs.includes(operator.cookieHeader().split("; ")[0] ?? "unreachable"), "a session cookie appears in the logs");
  });

  it("drains on SIGTERM: readiness fails, streams end, in-flight POSTs finish, no 5xx, exit 0", async (t) => {
    // Orders that wait a day for an operator: their streams can only end because the web drains.
    const watchers = await Promise.all(
      Array.from({ length: 3 }, async (_, i) => {
        const c = new BrowserClient(stack.webUrl);
        const { orderId, status } = await placeOrder(c, `drain${i}@example.com`, { "LAMP-HARBOUR": "1" });
        assert.equal(status, 303);
        return { c, orderId };
      }),
    );
    await waitUntil("the watched orders to wait for approval", async () => {
      const r = await stack.db.query(
        "SELECT count(*)::int AS n FROM orders WHERE id = ANY($1) AND status = 'awaiting_approval'",
        [watchers.map((w) => w.orderId)],
      );
      return r.rows[0].n === watchers.length;
    });
    // A fresh web has not read the catalog yet: its next order form asks PostgreSQL for the known SKUs.
    await stack.web?.stop(5_000);
    const web = await stack.startWeb();
    const opened = new Set<string>();
    const streams = watchers.map(({ c, orderId }) =>
      c.sse(`/orders/${orderId}/events`, { timeoutMs: 120_000, stopWhen: () => (opened.add(orderId), false) }),
    );
    await waitUntil("every stream to show its order", () => opened.size === watchers.length);

    // POSTs in flight while the signal arrives: held on the catalog table, which the test locks.
    const posters = Array.from({ length: 4 }, () => new BrowserClient(stack.webUrl));
    const forms = await Promise.all(posters.map((p) => p.get("/orders/new")));
    const lock = await stack.db.connect();
    let locked = true;
    const unlock = async () => {
      if (!locked) return;
      locked = false;
      await lock.query("ROLLBACK");
      lock.release();
    };
    t.after(unlock);
    await lock.query("BEGIN");
    await lock.query("LOCK TABLE products IN ACCESS EXCLUSIVE MODE");
    const inflight = posters.map((p, i) => {
      const orderId = extract(forms[i]?.html ?? "", "orderId");
      const answer = p
        .postForm("/orders", {
          _csrf: extract(forms[i]?.html ?? "", "_csrf"),
          orderId,
          email: `inflight${i}@example.com`,
          paymentMethod: "pm_card_visa",
          "qty[KNOT-BOOK]": "1",
        })
        // A connection cut during the drain is an answer too (not 303), and no unhandled rejection.
        .then(
          (r) => r.status,
          (err: unknown) => `cut off: ${String(err)}`,
        );
      return { orderId, answer };
    });
    const redis = new Redis(stack.services.valkeyUrl, { maxRetriesPerRequest: 1 });
    try {
      // Each POST passed its rate limit (so the web is handling it) and the web waits on the lock.
      await waitUntil("every POST counted by the rate limiter", async () => {
        const counted = await Promise.all(posters.map((p) => redis.keys(`ratelimit:orders:s:${p.sessionId}:*`)));
        return counted.every((keys) => keys.length > 0);
      });
      await waitUntil("the web waiting for the catalog lock", async () => {
        const r = await stack.db.query(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'quayside-web' AND wait_event_type = 'Lock'",
        );
        return r.rows[0].n > 0;
      });
    } finally {
      redis.disconnect();
    }
    const answered = await Promise.race([
      Promise.any(inflight.map((f) => f.answer)),
      new Promise((resolve) => setImmediate(() => resolve("none yet"))),
    ]);
    assert.equal(answered, "none yet", "no POST was answered before the signal");

    web.child.kill("SIGTERM");
    // Readiness fails first (the ops port stays up until the end of the drain), so traffic moves away.
    const notReady = await waitUntil("readiness to fail", async () => {
      const status = await ops(stack.ports.webMetrics, "/ready")
        .then((r) => r.status)
        .catch(() => 0);
      // Wrapped: 0 (the ops port already closed, the web is gone) is an answer too, not "not yet".
      return status === 200 ? null : { status };
    });
    assert.ok(notReady.status === 503 || notReady.status === 0, `readiness during the drain: ${notReady.status}`);
    for (const s of await Promise.all(streams)) {
      assert.equal(s.status, 200);
      assert.ok(s.ended, "the server ended the stream");
    }
    // Only now may the POSTs go on: they finish during the drain.
    await unlock();
    for (const { answer } of inflight) assert.equal(await answer, 303, "an in-flight POST was placed");
    assert.equal(await web.exited, 0);
    stack.web = null;

    const ids = inflight.map((f) => f.orderId);
    await waitUntil("the orders placed during the drain to be fulfilled", async () => {
      const r = await stack.db.query("SELECT count(*)::int AS n FROM orders WHERE id = ANY($1) AND status = 'fulfilled'", [ids]);
      return r.rows[0].n === ids.length;
    });
    const watched = await stack.db.query("SELECT status FROM orders WHERE id = ANY($1)", [watchers.map((w) => w.orderId)]);
    assert.deepEqual(
      watched.rows.map((r) => r.status),
      watchers.map(() => "awaiting_approval"),
      "the watched orders did not end: the drain ended their streams",
    );
    // Rejected now, so no invocation is left open for the next test's worker drain to wait on.
    const orders = createOrdersClient({ ingressUrl: stack.services.restate.ingressUrl });
    for (const { orderId } of watchers) await orders.control(orderId, "reject", "drain test over", "test");
    await waitUntil("the watched orders rejected", async () => {
      const r = await stack.db.query(
        "SELECT count(*)::int AS n FROM orders WHERE id = ANY($1) AND status = 'awaiting_approval'",
        [watchers.map((w) => w.orderId)],
      );
      return r.rows[0].n === 0;
    });
    await stack.startWeb();
  });

  it("the worker drains on SIGTERM and Restate finishes its invocations elsewhere", async () => {
    const client = new BrowserClient(stack.webUrl);
    const { orderId } = await placeOrder(client, "worker-drain@example.com");
    const worker = stack.worker;
    assert.ok(worker);
    worker.child.kill("SIGTERM");
    assert.equal(await worker.exited, 0);
    await stack.startWorker();
    await waitUntil(
      "fulfilment after the restart",
      async () => (await stack.db.query("SELECT status FROM orders WHERE id = $1", [orderId])).rows[0]?.status === "fulfilled",
      30_000,
    );
    assert.equal((await stack.db.query("SELECT count(*)::int AS n FROM payments WHERE order_id = $1", [orderId])).rows[0].n, 1);
  });
});
