/**
 * With OTEL_EXPORTER_OTLP_ENDPOINT set, one order is one trace: the browser's POST in the web,
 * the workflow's handler attempts in the worker, and each executed step inside them. A local
 * HTTP server speaking OTLP/HTTP (JSON) plays the collector. Log lines carry the trace id. A
 * refund's email is sent in the refund's trace.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { BrowserClient, extract, waitUntil } from "./helpers/browser-client.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";
import { startOtlpSink, type CollectedSpan, type OtlpSink } from "../scripts/stack/otlp-sink.ts";

describe("tracing", () => {
  let stack: TestStack;
  let collector: OtlpSink;

  before(async () => {
    collector = await startOtlpSink();
    stack = await startTestStack("tracing", { web: true, env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url } });
  });
  after(async () => {
    await stack?.stop();
    await collector?.close();
  });

  it("follows one order from the web's POST through Restate to every worker step, down to the queries", async () => {
    const client = new BrowserClient(stack.webUrl);
    const form = await client.get("/orders/new");
    const orderId = extract(form.html, "orderId");
    const post = await client.postForm("/orders", {
      _csrf: extract(form.html, "_csrf"),
      orderId,
      email: "traced@example.com",
      paymentMethod: "pm_card_visa",
      "qty[MUG-QUAY]": "1",
    });
    assert.equal(post.status, 303);
    // Probes, then a request that is traced: the web exports spans in the order they end, so once
    // the last one's span is in, a probe's would be too.
    await client.get("/live");
    await client.get("/ready");
    assert.equal((await client.get("/orders")).status, 200);

    const root = await waitUntil("the web's POST span", () =>
      collector.spans.find((s) => s.service === "quayside-web" && s.name === "POST /orders"),
    );
    assert.equal(root.scope, "@opentelemetry/instrumentation-http", "the POST is the http instrumentation's server span");
    assert.equal(root.parentSpanId, "", "the POST starts the trace");
    const children = (parent: CollectedSpan) =>
      collector.spans.filter((s) => s.traceId === parent.traceId && s.parentSpanId === parent.spanId);
    const worker = (name: string) =>
      collector.spans.find((s) => s.traceId === root.traceId && s.service === "quayside-worker" && s.name === name);
    await waitUntil("the worker's spans in the same trace", () => worker("OrderFulfilment · ship order"), 30_000);

    // The submit: the HTTP request to Restate's ingress (node:http, a client span of the http
    // instrumentation), a child of the POST, and the parent of the workflow.
    const submit = children(root).find((s) => s.scope === "@opentelemetry/instrumentation-http");
    assert.ok(submit, "the submission to Restate is a span under the POST");
    const run = worker("OrderFulfilment/run");
    assert.ok(run, "the workflow's handler attempt is in the order's trace");
    assert.equal(run.parentSpanId, submit.spanId, "the workflow continues the submit's context");
    assert.ok(
      children(root).some((s) => s.scope === "@opentelemetry/instrumentation-ioredis"),
      "the POST's Valkey commands (rate limit, session) are under it",
    );

    // The workflow's own steps, each under its handler attempt.
    const runs = collector.spans
      .filter((s) => s.traceId === root.traceId && s.name === "OrderFulfilment/run")
      .map((s) => s.spanId);
    for (const step of ["OrderFulfilment · place order", "OrderFulfilment · send confirmation", "OrderFulfilment · ship order"]) {
      const span = worker(step);
      assert.ok(span, `${step} is in the order's trace`);
      assert.ok(runs.includes(span.parentSpanId), `${step} is a child of its handler attempt`);
    }
    const placeStep = worker("OrderFulfilment · place order")!;
    await waitUntil("the step's queries", () => children(placeStep).some((s) => s.scope === "@opentelemetry/instrumentation-pg"));
    assert.ok(
      children(placeStep).some((s) => s.scope === "@opentelemetry/instrumentation-ioredis"),
      "the step's progress events (Valkey) are under it",
    );
    assert.ok(
      children(placeStep).filter((s) => s.scope === "@opentelemetry/instrumentation-pg").length >= 3,
      "the order's statement, the payment's and the confirmed status are under the one step",
    );

    // The confirmation email, sent in a step of its own beside shipping: the SMTP exchange and its
    // bookkeeping under that step, in the order's own trace.
    const sendStep = worker("OrderFulfilment · send confirmation")!;
    await waitUntil("the SMTP send under the confirmation's step", () => children(sendStep).some((s) => s.name === "smtp send"));
    assert.ok(
      children(sendStep).some((s) => s.scope === "@opentelemetry/instrumentation-pg"),
      "the emails row written around the send is under the same step",
    );

    await waitUntil("the span of the request made after the probes", () =>
      collector.spans.some((s) => s.service === "quayside-web" && s.name === "GET /orders"),
    );
    assert.ok(!collector.spans.some((s) => s.name.includes("/live") || s.name.includes("/ready")), "probes are not traced");
    assert.ok(
      !collector.spans.some((s) => s.parentSpanId === "" && s.scope.includes("instrumentation-pg")),
      "queries outside any request or step are not traces of their own",
    );

    const webLog = readFileSync(path.join(stack.logDir, "web.log"), "utf8");
    assert.match(webLog, new RegExp(`"trace_id":"${root.traceId}"`), "the request's log lines carry its trace id");

    // A refund of the fulfilled order, started with a trace context of its own (as the web's
    // operator POST sends one): the refund's handler and the refunded email's EmailSender
    // invocation are in that trace, not in traces of their own.
    const traceId = randomBytes(16).toString("hex");
    const res = await fetch(`${stack.services.restate.ingressUrl}/OrderRefund/${orderId}/refund`, {
      method: "POST",
      headers: { "content-type": "application/json", traceparent: `00-${traceId}-${randomBytes(8).toString("hex")}-01` },
      body: JSON.stringify({ operator: "ana", reason: "Tracing a refund" }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(((await res.json()) as { accepted: boolean }).accepted, true);
    const inRefundTrace = (name: string) => collector.spans.find((s) => s.traceId === traceId && s.name === name);
    await waitUntil("the refund's handler in its trace", () => inRefundTrace("OrderRefund/refund"), 30_000);
    await waitUntil("the refunded email's invocation in the refund's trace", () => inRefundTrace("EmailSender/send"), 30_000);
  });
});
