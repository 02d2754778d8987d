import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { emptySnapshot, type ProgressSnapshot } from "../../shared/progress-event.ts";
import { invocationUrl, progressPanel } from "../../web/views/order-page.view.ts";

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

/** step name -> state class, in render order. */
function stepStates(markup: string): Array<[string, string]> {
  return [...markup.matchAll(/<li class="step (\w+)" data-step="(\w+)">/g)].map((m) => [m[2] ?? "", m[1] ?? ""]);
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
  it("renders the progress bar and data attributes from the snapshot", () => {
    const out = progressPanel(snapshot(), UI).value;
    assert.match(out, /<progress [^>]*value="40"/);
    assert.match(out, /<progress [^>]*max="100"/);
    assert.ok(out.includes('data-seq="3"'));
    assert.ok(out.includes('data-status="running"'));
    assert.ok(out.includes('class="progress-panel status-running"'));
    assert.ok(out.includes("<strong>40 %</strong> Stock reserved"));
  });

  it("marks steps done up to the percent and pending after", () => {
    assert.deepEqual(stepStates(progressPanel(snapshot(), UI).value), [
      ["received", "done"],
      ["persisted", "done"],
      ["reserved", "done"],
      ["paid", "pending"],
      ["emailed", "pending"],
      ["completed", "pending"],
    ]);
  });

  it("marks every step done at 100 %", () => {
    const states = stepStates(progressPanel(snapshot({ percent: 100, status: "succeeded", step: "completed" }), UI).value);
    assert.equal(states.length, 6);
    assert.ok(states.every(([, s]) => s === "done"));
  });

  it("marks nothing done for the empty snapshot (seq 0)", () => {
    const out = progressPanel(emptySnapshot, UI).value;
    assert.ok(stepStates(out).every(([, s]) => s === "pending"));
    assert.match(out, /value="0"/);
    assert.doesNotMatch(out, /class="invocation"/);
  });

  it("marks the remaining steps skipped when the order failed", () => {
    assert.deepEqual(stepStates(progressPanel(snapshot({ percent: 65, status: "failed" }), UI).value), [
      ["received", "done"],
      ["persisted", "done"],
      ["reserved", "done"],
      ["paid", "done"],
      ["emailed", "skipped"],
      ["completed", "skipped"],
    ]);
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
