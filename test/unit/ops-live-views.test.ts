import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { OpsOverview } from "../../web/adapters/ops-overview.repo.ts";
import type { OpsOrderRow } from "../../web/adapters/ops-live.repo.ts";
import { opsApprovals, opsLiveRegion, opsNewestRows, opsOrderRow } from "../../web/views/ops-live.view.ts";
import { opsOverviewSection } from "../../web/views/ops-overview.view.ts";
import { html } from "../../shared/html.ts";
import { inlineCodeProblems } from "../helpers/security-checks.ts";

const start = Date.parse("2026-01-02T10:00:00.000Z");
const hour = (orders: (i: number) => number, p50: (i: number) => number | null): OpsOverview => ({
  minutes: Array.from({ length: 60 }, (_, i) => ({
    minute: new Date(start + i * 60_000).toISOString(),
    orders: orders(i),
    p50Seconds: p50(i),
  })),
  p50Seconds: null,
  completed: 0,
  byStatus: [],
  asOf: "2026-01-02T10:59:30.000Z",
});

const row = (patch: Partial<OpsOrderRow> = {}): OpsOrderRow => ({
  id: "019a0000-0000-7000-8000-000000000001",
  email: "a@example.com",
  totalCents: 1200,
  currency: "EUR",
  status: "awaiting_approval",
  statusReason: null,
  invocationId: "inv_1",
  approvedBy: null,
  createdAt: "2026-01-02T10:30:00.000Z",
  ...patch,
});

describe("operator live views", () => {
  it("an empty hour draws sixty flat bars and no line, within the CSP", () => {
    const out = opsOverviewSection(
      hour(
        () => 0,
        () => null,
      ),
    ).value;
    const heights = [...out.matchAll(/<rect class="bar"[^>]* height="([\d.]+)"/g)].map((m) => Number(m[1]));
    assert.equal(heights.length, 60);
    assert.ok(heights.every((h) => h === 0));
    assert.doesNotMatch(out, /<polyline|<circle/);
    assert.match(out, /data-p50-seconds=""/);
    assert.deepEqual(inlineCodeProblems(out), []);
    assert.doesNotMatch(out, /\sstyle=/);
  });

  it("bars scale to the busiest minute and the line joins the minutes with completions", () => {
    const out = opsOverviewSection(
      hour(
        (i) => (i === 59 ? 4 : i === 0 ? 2 : 0),
        (i) => (i % 20 === 0 ? i + 10 : null),
      ),
    ).value;
    const bars = [...out.matchAll(/<rect class="bar"[^>]* y="([\d.]+)" width="[\d.]+" height="([\d.]+)"/g)];
    assert.equal(Number(bars[59]![1]) + Number(bars[59]![2]), 120, "bars stand on the axis");
    assert.equal(Number(bars[59]![2]), 2 * Number(bars[0]![2]), "twice the orders, twice the height");
    assert.equal([...out.matchAll(/<circle class="point"/g)].length, 3);
    assert.match(out, /<polyline class="line" fill="none" points="[\d.]+,[\d.]+ [\d.]+,[\d.]+ [\d.]+,[\d.]+"/);
  });

  it("escapes what comes from the orders table, and every moving part names its own event", () => {
    const odd = row({ email: `"><img src=x onerror=alert(1)>`, statusReason: "<b>why</b>" });
    const rowHtml = opsOrderRow(odd, undefined).value;
    assert.match(
      rowHtml,
      new RegExp(`^<tr id="order-row-${odd.id}" data-order-id="${odd.id}" sse-swap="order-${odd.id}" hx-swap="outerHTML">`),
    );
    assert.doesNotMatch(rowHtml, /<img|<b>/);
    assert.deepEqual(inlineCodeProblems(rowHtml), []);
    assert.match(
      opsNewestRows([odd], undefined).value,
      /^<tbody id="order-rows" sse-swap="orders-newest" hx-swap="outerHTML"><tr id="order-row-/,
    );
    const approvals = opsApprovals([odd], "tok", "http://ui.example").value;
    assert.match(approvals, /^<section id="ops-approvals" sse-swap="approvals" hx-swap="outerHTML">/);
    assert.match(approvals, /Awaiting approval \(1\)/);
    assert.match(approvals, new RegExp(`<tr id="approval-row-${odd.id}"`));
    assert.match(approvals, /name="_csrf" value="tok"/);
    assert.match(approvals, /href="http:\/\/ui\.example\/ui\/invocations\/inv_1"/);
    assert.match(opsApprovals([], "tok", undefined).value, /No order is waiting for approval/);
    assert.equal(
      opsLiveRegion(html`x`, ["overview", "approvals"]).value,
      `<div class="live" hx-ext="sse" sse-connect="/ops/events?topics=overview,approvals">x</div>`,
    );
  });
});
