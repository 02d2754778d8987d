/**
 * The operator overview: orders placed per minute over the last hour and how long fulfilment took
 * (p50), as inline SVG drawn on the server, and the count of orders in each status. SVG
 * presentation attributes only, no `style=`, so the CSP's `style-src 'self'` holds; colours come
 * from app.css. Each chart's y-axis is labelled at 0, its middle and its top, with grid lines. The section replaces itself from `/ops/events` (event `overview`).
 */
import { html, type SafeHtml } from "../../shared/html.ts";
import type { OpsOverview, OverviewMinute } from "../adapters/ops-overview.repo.ts";
import type { OpsOrderRow } from "../adapters/ops-live.repo.ts";
import type { Page } from "./layout.view.ts";
import { opsApprovals, opsLiveRegion } from "./ops-live.view.ts";

const W = 600;
const H = 120;
const PAD = 4;
/** Room left of the plot for the y-axis values, and above it for the top value's half-line. */
const LEFT = 44;
const TOP = 8;
const VIEW_BOX = `0 ${-TOP} ${LEFT + W} ${H + 16 + TOP}`;

const hhmm = (iso: string) => iso.slice(11, 16);
const round1 = (n: number) => Math.round(n * 10) / 10;

/** A scale's top: the largest value, at least 1, so an empty hour draws a flat chart. */
const top = (values: number[]) => Math.max(1, ...values);

/**
 * The y-axis: values at 0, the middle and the top of the scale (whole numbers when the values
 * are counts), each with a grid line across the plot. `plot` is drawn beside it, shifted right.
 */
function withYAxis(max: number, unit: string, whole: boolean, plot: SafeHtml): SafeHtml {
  const mid = whole ? Math.round(max / 2) : round1(max / 2);
  const ticks = [...new Set([0, mid, max])];
  const y = (v: number) => round1(H - ((H - PAD) * v) / max);
  return html`<g class="y-axis">${ticks.map(
    (v) =>
      html`<line class="grid" x1="${LEFT}" y1="${y(v)}" x2="${LEFT + W}" y2="${y(v)}"/><text class="axis-label" x="${LEFT - 4}" y="${y(v)}" text-anchor="end" dominant-baseline="middle" data-tick="${v}">${v}${unit}</text>`,
  )}<line class="axis" x1="${LEFT}" y1="${PAD}" x2="${LEFT}" y2="${H}"/></g>
    <g transform="translate(${LEFT} 0)">${plot}</g>`;
}

function ordersChart(minutes: readonly OverviewMinute[]): SafeHtml {
  const max = top(minutes.map((m) => m.orders));
  const step = W / Math.max(1, minutes.length);
  const bars = minutes.map((m, i) => {
    const h = round1(((H - PAD) * m.orders) / max);
    return html`<rect class="bar" x="${round1(i * step + 1)}" y="${round1(H - h)}" width="${round1(step - 2)}" height="${h}" data-minute="${m.minute}" data-orders="${m.orders}"><title>${hhmm(m.minute)} UTC: ${m.orders} ${m.orders === 1 ? "order" : "orders"}</title></rect>`;
  });
  return html`<svg class="chart orders-chart" viewBox="${VIEW_BOX}" role="img" aria-labelledby="orders-chart-title">
    <title id="orders-chart-title">Orders placed per minute, last 60 minutes (peak ${max})</title>
    ${withYAxis(
      max,
      "",
      true,
      html`<line class="axis" x1="0" y1="${H}" x2="${W}" y2="${H}"/>
    ${bars}
    <text class="axis-label" x="0" y="${H + 13}">${minutes[0] ? hhmm(minutes[0].minute) : ""}</text>
    <text class="axis-label" x="${W}" y="${H + 13}" text-anchor="end">${minutes.at(-1) ? hhmm(minutes.at(-1)!.minute) : ""} UTC</text>`,
    )}
  </svg>`;
}

function completionChart(minutes: readonly OverviewMinute[]): SafeHtml {
  const max = top(minutes.map((m) => m.p50Seconds ?? 0));
  const step = W / Math.max(1, minutes.length);
  const points = minutes.flatMap((m, i) =>
    m.p50Seconds === null ? [] : [{ x: round1(i * step + step / 2), y: round1(H - ((H - PAD) * m.p50Seconds) / max), m }],
  );
  return html`<svg class="chart completion-chart" viewBox="${VIEW_BOX}" role="img" aria-labelledby="completion-chart-title">
    <title id="completion-chart-title">Median time from order to fulfilment, per minute of fulfilment (up to ${max} s)</title>
    ${withYAxis(
      max,
      " s",
      false,
      html`<line class="axis" x1="0" y1="${H}" x2="${W}" y2="${H}"/>
    ${points.length > 1 ? html`<polyline class="line" fill="none" points="${points.map((p) => `${p.x},${p.y}`).join(" ")}"/>` : ""}
    ${points.map(
      (p) =>
        html`<circle class="point" cx="${p.x}" cy="${p.y}" r="3" data-minute="${p.m.minute}" data-p50="${p.m.p50Seconds}"><title>${hhmm(p.m.minute)} UTC: p50 ${p.m.p50Seconds} s</title></circle>`,
    )}
    <text class="axis-label" x="0" y="${H + 13}">${minutes[0] ? hhmm(minutes[0].minute) : ""}</text>
    <text class="axis-label" x="${W}" y="${H + 13}" text-anchor="end">${minutes.at(-1) ? hhmm(minutes.at(-1)!.minute) : ""} UTC</text>`,
    )}
  </svg>`;
}

/** The overview section: charts and counts. */
export function opsOverviewSection(o: OpsOverview): SafeHtml {
  const placed = o.minutes.reduce((n, m) => n + m.orders, 0);
  const total = o.byStatus.reduce((n, s) => n + s.count, 0);
  return html`<section id="ops-overview" sse-swap="overview" hx-swap="outerHTML" data-as-of="${o.asOf}">
    <h2>Last hour</h2>
    <p class="overview-summary"><strong data-placed-last-hour="${placed}">${placed}</strong> ${placed === 1 ? "order" : "orders"} placed ·
      <strong data-completed-last-hour="${o.completed}">${o.completed}</strong> fulfilled, median
      <strong data-p50-seconds="${o.p50Seconds ?? ""}">${o.p50Seconds === null ? "–" : `${o.p50Seconds} s`}</strong> from order to fulfilment</p>
    <h3>Orders per minute</h3>
    ${ordersChart(o.minutes)}
    <h3>Time to fulfilment (p50)</h3>
    ${completionChart(o.minutes)}
    <h2>Orders by status</h2>
    <dl class="status-counts">
      ${o.byStatus.map((s) => html`<div class="status-count"><dt class="order-status status-${s.status}">${s.status.replace("_", " ")}</dt><dd data-status="${s.status}">${s.count}</dd></div>`)}
      <div class="status-count"><dt>all</dt><dd data-status="all">${total}</dd></div>
    </dl>
    <p class="as-of"><small>As of ${o.asOf.slice(11, 19)} UTC; updates as orders move.</small></p>
  </section>`;
}

export interface OpsOverviewModel {
  overview: OpsOverview;
  pending: readonly OpsOrderRow[];
  csrfToken: string;
  restateUiUrl: string | undefined;
}

/** `/ops/overview`: live over `/ops/events` (the overview and the approvals list; no order rows). */
export function opsOverviewPage(m: OpsOverviewModel): Page {
  return {
    title: "Shop overview",
    body: html`<h1>Shop overview</h1>
      <p><a href="/ops">← Operations</a></p>
      ${opsLiveRegion(html`${opsOverviewSection(m.overview)}${opsApprovals(m.pending, m.csrfToken, m.restateUiUrl)}`, ["overview", "approvals"])}`,
  };
}
