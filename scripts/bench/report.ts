/**
 * Markdown for `npm run bench`: every figure beside its same-run baseline, as a ratio, with the team's
 * target. One function per section (report-*.ts), each left out when its scenario did not run.
 */
import type { BenchResults } from "./bench-results.ts";
import { f } from "./report-format.ts";
import { flashSection } from "./report-flash.ts";
import { ingestSections } from "./report-ingest.ts";
import { checkoutSection, ordersSection } from "./report-orders.ts";
import { sseSection, stormSection } from "./report-sse.ts";
import { startupSection } from "./report-startup.ts";

export function renderMarkdown(r: BenchResults): string {
  return [
    ...runHeader(r),
    ...(r.orders ? ordersSection(r, r.orders) : []),
    ...(r.checkout ? checkoutSection(r.checkout) : []),
    ...ingestSections(r),
    ...(r.sse ? sseSection(r.sse) : []),
    ...(r.storm ? stormSection(r.storm) : []),
    ...(r.startup ? startupSection(r.startup) : []),
    ...(r.flash ? flashSection(r.flash) : []),
    ...(r.totalSeconds !== undefined ? [`\nTotal bench time: ${f(r.totalSeconds, 0)} s.`] : []),
  ].join("\n");
}

/** The machine and the settings the figures were measured with. */
function runHeader(r: BenchResults): string[] {
  return [
    `Machine: ${Object.entries(r.machine)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}.`,
    `Settings: ${Object.entries(r.settings)
      .map(([k, v]) => `${k}=${v}`)
      .join(", ")}.`,
  ];
}
