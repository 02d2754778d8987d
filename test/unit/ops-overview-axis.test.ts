/** The overview's charts say what their heights mean: values on the y-axis, drawn within the CSP. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { OpsOverview } from "../../web/adapters/ops-overview.repo.ts";
import { opsOverviewSection } from "../../web/views/ops-overview.view.ts";
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

/** Each chart's y-axis values as drawn, with the y they are drawn at. */
function ticks(svg: string): Array<{ label: string; y: number }> {
  return [
    ...svg.matchAll(
      /<text class="axis-label" x="[\d.]+" y="([\d.]+)" text-anchor="end" dominant-baseline="middle" data-tick="[\d.]+">([^<]+)<\/text>/g,
    ),
  ].map((m) => ({ label: m[2]!, y: Number(m[1]) }));
}
const chart = (out: string, name: string) => new RegExp(`<svg class="chart ${name}"[\\s\\S]*?</svg>`).exec(out)?.[0] ?? "";

describe("the overview's y-axes", () => {
  it("label 0, the middle and the peak, at the heights the bars and points reach", () => {
    const out = opsOverviewSection(
      hour(
        (i) => (i === 59 ? 7 : 0),
        (i) => (i === 30 ? 12.5 : null),
      ),
    ).value;
    const orders = chart(out, "orders-chart");
    const at = (v: number) => Math.round((120 - (116 * v) / 7) * 10) / 10;
    assert.deepEqual(ticks(orders), [
      { label: "0", y: 120 },
      { label: "4", y: at(4) },
      { label: "7", y: 4 },
    ]);
    const peak = /<rect class="bar"[^>]* y="([\d.]+)"[^>]*data-orders="7"/.exec(orders);
    assert.equal(Number(peak?.[1]), 4, "the busiest minute's bar reaches the top value's line");
    const completion = chart(out, "completion-chart");
    assert.deepEqual(
      ticks(completion).map((t) => t.label),
      ["0 s", "6.3 s", "12.5 s"],
    );
    assert.deepEqual(inlineCodeProblems(out), []);
    assert.doesNotMatch(out, /\sstyle=/);
  });

  it("an empty hour still has a scale: 0 and 1", () => {
    const out = opsOverviewSection(
      hour(
        () => 0,
        () => null,
      ),
    ).value;
    assert.deepEqual(
      ticks(chart(out, "orders-chart")).map((t) => t.label),
      ["0", "1"],
    );
  });
});
