/**
 * Running it in production: Prometheus metrics on the operations ports (no ids as labels), secrets
 * kept out of the logs, and SIGTERM while streams are open and POSTs are in flight: no 5xx,
 * readiness fails first, exit 0 within the drain.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { BrowserClient, extract, waitUntil, postOrderForm } from "./helpers/browser-client.ts";
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
      env: { ...SECRETS, SHUTDOWN_DRAIN_MS: "4000", PAYMENT_LATENCY_MS: "300", LOG_LEVEL: "trace" },
    });
  });
  after(async () => {
    await stack?.stop();
  });

  const ops = (port: number | undefined, p: string) => fetch(`http://127.0.0.1:${port}${p}`);

  const placeOrder = (client: BrowserClient, email: string) => postOrderForm(client, { email });

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
    assert.match(worker, /quayside_step_seconds_count\{service="OrderFulfilment",step="charge payment",result="ok"\} [1-9]/);
    assert.match(worker, /quayside_emails_total\{outcome="sent"\} [1-9]/);
    assert.match(worker, /quayside_handler_attempt_seconds_count\{service="Inventory",handler="reserve",result="ok"\}/);
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

  it("drains on SIGTERM: readiness fails, streams end, in-flight POSTs finish, no 5xx, exit 0", async () => {
    const web = stack.web;
    assert.ok(web);
    // Open streams on live orders.
    const watchers = await Promise.all(
      Array.from({ length: 3 }, async (_, i) => {
        const c = new BrowserClient(stack.webUrl);
        const { orderId } = await placeOrder(c, `drain${i}@example.com`);
        return { c, orderId };
      }),
    );
    const streams = watchers.map(({ c, orderId }) => c.sse(`/orders/${orderId}/events`, { timeoutMs: 20_000 }));
    await sleep(300);
    // POSTs in flight while the signal arrives.
    const posters = Array.from({ length: 4 }, () => new BrowserClient(stack.webUrl));
    const forms = await Promise.all(posters.map((p) => p.get("/orders/new")));
    const inflight = posters.map((p, i) =>
      p
        .postForm("/orders", {
          _csrf: extract(forms[i]?.html ?? "", "_csrf"),
          orderId: extract(forms[i]?.html ?? "", "orderId"),
          email: `inflight${i}@example.com`,
          paymentMethod: "pm_card_visa",
          "qty[KNOT-BOOK]": "1",
        })
        .then((r) => r.status)
        .catch(() => "refused" as const),
    );
    const started = Date.now();
    web.child.kill("SIGTERM");
    // Readiness fails first (the ops port stays up until the end of the drain), so traffic moves away.
    const notReady = await waitUntil(
      "readiness to fail",
      async () => {
        const status = await ops(stack.ports.webMetrics, "/ready")
          .then((r) => r.status)
          .catch(() => 0);
        // Wrapped: 0 (the ops port already closed, the web is gone) is an answer too, not "not yet".
        return status === 200 ? null : { status };
      },
      3_000,
    );
    assert.ok(notReady.status === 503 || notReady.status === 0, `readiness during the drain: ${notReady.status}`);
    const code = await web.exited;
    const elapsed = Date.now() - started;
    assert.equal(code, 0);
    assert.ok(elapsed < 4_000 + 2_000, `exited after ${elapsed} ms, beyond the drain`);
    const statuses = await Promise.all(inflight);
    for (const s of statuses) assert.ok(s === "refused" || s < 500, `an in-flight POST got ${s}`);
    for (const s of await Promise.all(streams)) {
      assert.equal(s.status, 200);
      assert.ok(s.ended, "the server ended the stream");
    }
    stack.web = null;
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
