import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cancellableStatuses } from "../../shared/order-steps.ts";
import type { ProgressSnapshot } from "../../shared/progress-event.ts";
import { rowIsAhead, snapshotFromOrderRow } from "../../web/progress/order-snapshot.ts";
import { invocationUrl } from "../../web/views/invocation-link.view.ts";
import { progressPanel, timelineAppend, timelineItem } from "../../web/views/order-page.view.ts";

const UI = "http://ui.example";

function snapshot(patch: Partial<ProgressSnapshot> = {}): ProgressSnapshot {
  return {
    seq: 3,
    step: "reserved",
    percent: 40,
    status: "running",
    message: "Stock reserved",
    at: "2025-01-02T03:04:05.000Z",
    invocationId: "inv_123",
    ...patch,
  };
}

describe("invocationUrl", () => {
  it("joins the UI url and the invocation id", () => {
    assert.equal(invocationUrl(UI, "inv_123"), "http://ui.example/ui/invocations/inv_123");
    assert.equal(invocationUrl("http://127.0.0.1:9070/", "inv_1"), "http://127.0.0.1:9070/ui/invocations/inv_1");
  });

  it("keeps a path prefix of the UI url", () => {
    assert.equal(invocationUrl("https://ops.example/restate/", "inv_1"), "https://ops.example/restate/ui/invocations/inv_1");
  });

  it("percent-encodes the invocation id", () => {
    assert.equal(invocationUrl(UI, "a/b?c"), "http://ui.example/ui/invocations/a%2Fb%3Fc");
  });

  it("returns null when either part is missing", () => {
    assert.equal(invocationUrl(undefined, "inv_123"), null);
    assert.equal(invocationUrl("", "inv_123"), null);
    assert.equal(invocationUrl(UI, null), null);
    assert.equal(invocationUrl(UI, ""), null);
    assert.equal(invocationUrl(undefined, null), null);
  });
});

describe("progressPanel", () => {
  it("offers the cancel button only while the order can still be cancelled", () => {
    const controls = { orderId: "0199", csrfToken: "tok" };
    assert.match(progressPanel(snapshot(), UI, controls).value, /action="\/orders\/0199\/cancel"/);
    assert.match(progressPanel(snapshot(), UI, controls).value, /name="_csrf" value="tok"/);
    assert.doesNotMatch(progressPanel(snapshot({ step: "shipped" }), UI, controls).value, /Cancel order/);
    assert.doesNotMatch(progressPanel(snapshot({ status: "succeeded", step: "fulfilled" }), UI, controls).value, /Cancel order/);
    assert.doesNotMatch(progressPanel(snapshot(), UI).value, /Cancel order/, "no controls, no button");
  });

  it("allows a cancel on the same row statuses as the panel: those before shipping that have not ended", () => {
    assert.deepEqual(
      [...cancellableStatuses],
      ["received", "reserved", "awaiting_payment", "paid", "awaiting_approval", "confirmed"],
    );
  });

  it("labels a finished order with its outcome", () => {
    assert.match(
      progressPanel(snapshot({ status: "failed", step: "rejected", message: "Out of stock: Mug" }), UI).value,
      /<strong>Rejected<\/strong> Out of stock: Mug/,
    );
    assert.match(
      progressPanel(snapshot({ status: "cancelled", step: "cancelled", message: "changed my mind" }), UI).value,
      /<strong>Cancelled<\/strong>/,
    );
  });

  it("renders the progress bar and data attributes from the snapshot", () => {
    const out = progressPanel(snapshot(), UI).value;
    assert.match(out, /<progress [^>]*value="40"/);
    assert.match(out, /<progress [^>]*max="100"/);
    assert.ok(out.includes('data-seq="3"'));
    assert.ok(out.includes('data-status="running"'));
    assert.ok(out.includes('class="progress-panel status-running"'));
    assert.ok(out.includes("<strong>40 %</strong> Stock reserved"));
  });

  it("links the invocation in the Restate UI when both url and id are set", () => {
    const out = progressPanel(snapshot(), UI).value;
    assert.ok(out.includes("<code>inv_123</code>"));
    assert.ok(out.includes('href="http://ui.example/ui/invocations/inv_123"'));
  });

  it("shows the invocation id without a link when there is no UI url", () => {
    const out = progressPanel(snapshot(), undefined).value;
    assert.ok(out.includes("<code>inv_123</code>"));
    assert.doesNotMatch(out, /ui\/invocations|<a /);
  });

  it("shows neither id nor link without an invocation id", () => {
    const out = progressPanel(snapshot({ invocationId: null }), UI).value;
    assert.doesNotMatch(out, /class="invocation"|ui\/invocations|<a /);
  });

  it("escapes a hostile message and invocation id", () => {
    const out = progressPanel(
      snapshot({
        message: '<img src=x onerror=alert(1)>"><script>alert(1)</script>',
        invocationId: '"><script>x</script>',
      }),
      UI,
    ).value;
    assert.doesNotMatch(out, /<script|<img/);
    assert.ok(out.includes("&lt;img src=x onerror=alert(1)&gt;&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert.ok(out.includes("<code>&quot;&gt;&lt;script&gt;x&lt;/script&gt;</code>"));
  });
});

describe("timeline", () => {
  it("renders an event with its time, escaped, and as an out-of-band append for SSE", () => {
    const e = {
      seq: 4,
      kind: "step",
      step: "paid",
      percent: 45,
      status: "running",
      message: "<b>paid</b>",
      at: "2026-01-02T03:04:05.000Z",
    } as const;
    assert.equal(
      timelineItem(e).value,
      '<li class="event status-running" data-seq="4" data-step="paid"><time datetime="2026-01-02T03:04:05.000Z">03:04:05</time> &lt;b&gt;paid&lt;/b&gt;</li>',
    );
    assert.match(timelineAppend(e).value, /^<ol hx-swap-oob="beforeend:#timeline"><li /);
  });
});

describe("rowIsAhead (the order's row against its stream)", () => {
  const row = (status: Parameters<typeof snapshotFromOrderRow>[0]["status"], statusReason: string | null = null) =>
    snapshotFromOrderRow({ status, statusReason, invocationId: "inv_123" });

  it("prefers the stream while the row says no more than it", () => {
    assert.equal(rowIsAhead(row("confirmed"), snapshot({ step: "confirmed", percent: 70 })), false);
    assert.equal(rowIsAhead(row("fulfilled"), snapshot({ step: "fulfilled", percent: 100, status: "succeeded" })), false);
  });

  it("takes the row when Valkey lost newer events: further along, or terminal", () => {
    assert.equal(rowIsAhead(row("shipped"), snapshot({ step: "confirmed", percent: 70 })), true);
    assert.equal(rowIsAhead(row("cancelled"), snapshot({ step: "confirmed", percent: 70 })), true);
  });

  it("takes a refunded row over a stream that ends at fulfilled (the refund's event was lost)", () => {
    const refunded = row("refunded", "Refunded by the shop (dana): cracked");
    assert.deepEqual(
      [refunded.step, refunded.status, refunded.message],
      ["refunded", "cancelled", "Refunded by the shop (dana): cracked"],
    );
    assert.equal(rowIsAhead(refunded, snapshot({ step: "fulfilled", percent: 100, status: "succeeded" })), true);
    assert.equal(rowIsAhead(refunded, snapshot({ step: "refunded", percent: 100, status: "cancelled" })), false);
  });
});
