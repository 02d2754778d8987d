/**
 * With OTEL_EXPORTER_OTLP_ENDPOINT set, one order is one trace: the browser's POST in the web,
 * the workflow's handler attempts in the worker, and each executed step inside them. A local
 * HTTP server speaking OTLP/HTTP (JSON) plays the collector. Log lines carry the trace id.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { BrowserClient, extract, waitUntil } from "./helpers/browser-client.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";

interface CollectedSpan {
  service: string;
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
}

function startCollector(): Promise<{ url: string; spans: CollectedSpan[]; close(): Promise<void> }> {
  const spans: CollectedSpan[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.url === "/v1/traces") {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
          resourceSpans?: Array<{
            resource?: { attributes?: Array<{ key: string; value: { stringValue?: string } }> };
            scopeSpans?: Array<{ spans?: Array<{ name: string; traceId: string; spanId: string; parentSpanId?: string }> }>;
          }>;
        };
        for (const rs of body.resourceSpans ?? []) {
          const service = rs.resource?.attributes?.find((a) => a.key === "service.name")?.value.stringValue ?? "";
          for (const ss of rs.scopeSpans ?? [])
            for (const s of ss.spans ?? [])
              spans.push({ service, name: s.name, traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId ?? "" });
        }
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        spans,
        close: () => new Promise((r) => server.close(() => r())),
      }),
    ),
  );
}

describe("tracing", () => {
  let stack: TestStack;
  let collector: Awaited<ReturnType<typeof startCollector>>;

  before(async () => {
    collector = await startCollector();
    stack = await startTestStack("tracing", { web: true, env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url } });
  });
  after(async () => {
    await stack?.stop();
    await collector?.close();
  });

  it("follows one order from the web's POST through Restate to every worker step", async () => {
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
    await client.get("/live");

    const root = await waitUntil("the web's POST span", () =>
      collector.spans.find((s) => s.service === "quayside-web" && s.name === "HTTP POST /orders"),
    );
    const trace = (name: string) =>
      collector.spans.find((s) => s.traceId === root.traceId && s.service === "quayside-worker" && s.name === name);
    await waitUntil("the worker's spans in the same trace", () => trace("OrderFulfilment · ship order"), 30_000);
    // Calls to other handlers (Inventory, EmailSender) are invocations of their own: Restate's own
    // tracing (RESTATE_TRACING_ENDPOINT) links those; here, the workflow's own steps are checked.
    for (const step of [
      "OrderFulfilment/run",
      "OrderFulfilment · persist order",
      "OrderFulfilment · charge payment",
      "OrderFulfilment · ship order",
    ]) {
      assert.ok(trace(step), `${step} is in the order's trace`);
    }
    const charge = trace("OrderFulfilment · charge payment");
    const runs = collector.spans
      .filter((s) => s.traceId === root.traceId && s.name === "OrderFulfilment/run")
      .map((s) => s.spanId);
    assert.ok(charge && runs.includes(charge.parentSpanId), "a step's span is a child of its handler attempt");
    assert.ok(!collector.spans.some((s) => s.name.includes("/live")), "probes are not traced");

    const webLog = readFileSync(path.join(stack.logDir, "web.log"), "utf8");
    assert.match(webLog, new RegExp(`"trace_id":"${root.traceId}"`), "the request's log lines carry its trace id");
  });
});
