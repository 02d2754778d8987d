/**
 * The operator pages: sign-in, and the dashboard of pending approvals and the searchable order list;
 * and the banner the dashboard and an order's actions page open with while a provider refuses our key.
 */
import { html, type SafeHtml } from "../../shared/html.ts";
import { orderStatusSchema } from "../../shared/order.schema.ts";
import type { OrderPage, OrderSummary } from "../adapters/orders-read.repo.ts";
import type { ProviderAlert } from "../adapters/provider-alerts-read.repo.ts";
import { encodeCursor, type OrderListErrors, type OrderListValues } from "../order-list-query.ts";
import type { Page } from "./layout.view.ts";
import { opsApprovals, opsLiveRegion, opsNewestRows, opsOrderRow, opsOrdersHead, opsOverviewLink } from "./ops-live.view.ts";

export type OpsLoginErrors = Partial<Record<"name" | "password", string>>;

export function opsLoginPage(
  csrfToken: string,
  opts: { name?: string; error?: string; errors?: OpsLoginErrors; notice?: string } = {},
): Page {
  const errors = opts.errors ?? {};
  const fieldError = (field: keyof OpsLoginErrors) =>
    errors[field] ? html`<p class="field-error" id="${field}-error">${errors[field]}</p>` : "";
  return {
    title: "Operator sign-in",
    body: html`<h1>Operator sign-in</h1>
      ${opts.notice ? html`<p class="notice" role="status">${opts.notice}</p>` : ""}
      ${opts.error ? html`<p class="form-error" role="alert">${opts.error}</p>` : ""}
      <form method="post" action="/ops/login" class="order-form">
        <input type="hidden" name="_csrf" value="${csrfToken}">
        <label for="name">Operator name</label>
        <input id="name" name="name" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required value="${opts.name ?? ""}">
        ${fieldError("name")}
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required>
        ${fieldError("password")}
        <button type="submit">Sign in</button>
      </form>`,
  };
}

/** What operators read about one alert: what the provider refused, how often and lately, and what fixes it. */
export function providerAlertText(a: ProviderAlert): string {
  const times = a.count === 1 ? "once" : `${a.count} times`;
  // Only recent alerts are shown, so the last time needs no date; the first has one unless it is the same day.
  const first =
    a.firstAt.slice(0, 10) === a.lastAt.slice(0, 10) ? a.firstAt.slice(11, 16) : a.firstAt.slice(0, 16).replace("T", " ");
  const when = `${times} since ${first} UTC, last at ${a.lastAt.slice(11, 16)} UTC`;
  if (a.provider === "stripe" && a.kind === "auth") {
    return a.status === 403
      ? `Stripe refused a request our API key has no permission for (HTTP 403) ${when}: payments that need it cannot be taken until the key in STRIPE_SECRET_KEY is granted that permission.`
      : `Stripe refused our API key (HTTP ${a.status}) ${when}: payments cannot be taken until STRIPE_SECRET_KEY is fixed.`;
  }
  return `${a.provider} reported a problem (${a.kind}, HTTP ${a.status}) ${when}.`;
}

/** The banner of recent provider alerts (nothing when there is none), with the provider's own words. */
export function providerAlertBanner(alerts: readonly ProviderAlert[]): SafeHtml {
  return html`${alerts.map(
    (a) =>
      html`<p class="form-error provider-alert" role="alert" data-provider="${a.provider}" data-kind="${a.kind}">${providerAlertText(a)}${
        a.message ? html` <span class="provider-alert-detail">Its last answer: “${a.message}”</span>` : ""
      }</p>`,
  )}`;
}

export interface OpsModel {
  operator: string;
  pending: OrderSummary[];
  /** The order list's page, or null when the filter did not validate. */
  page: OrderPage | null;
  /** The list's filter as typed, and what was wrong with it. */
  filter: OrderListValues;
  filterErrors?: OrderListErrors;
  csrfToken: string;
  restateUiUrl: string | undefined;
  notice?: string | undefined;
  /** Recent provider alerts, shown in a banner at the top. */
  alerts?: readonly ProviderAlert[];
}

const STATUSES = orderStatusSchema.options;

function listHref(filter: OrderListValues, cursor?: { after: string } | { before: string }): string {
  const p = new URLSearchParams();
  if (filter.status) p.set("status", filter.status);
  if (filter.q) p.set("q", filter.q);
  if (cursor && "after" in cursor) p.set("after", cursor.after);
  if (cursor && "before" in cursor) p.set("before", cursor.before);
  const qs = p.toString();
  return qs ? `/ops?${qs}#orders` : "/ops#orders";
}

function filterForm(filter: OrderListValues, errors: OrderListErrors): SafeHtml {
  const fieldError = (field: keyof OrderListValues) =>
    errors[field] ? html`<p class="field-error" id="${field}-error">${errors[field]}</p>` : "";
  return html`<form method="get" action="/ops" class="order-filter" role="search">
    <label for="q">Order id or customer email</label>
    <input id="q" name="q" type="search" value="${filter.q}" placeholder="an order id (or its start), or name@example.com" spellcheck="false">
    ${fieldError("q")}
    <label for="status">Status</label>
    <select id="status" name="status">
      <option value="">any</option>
      ${STATUSES.map((s) => html`<option value="${s}" ${s === filter.status ? "selected" : ""}>${s.replace("_", " ")}</option>`)}
    </select>
    ${fieldError("status")}
    <button type="submit">Find</button>
    ${filter.q || filter.status ? html`<a href="/ops#orders">Clear</a>` : ""}
  </form>`;
}

export function opsDashboardPage(m: OpsModel): Page {
  const errors = m.filterErrors ?? {};
  const list = (page: OrderPage) => {
    if (page.orders.length === 0)
      return html`<p class="empty">${m.filter.q || m.filter.status ? "No order matches." : "No orders yet."}</p>`;
    // The unfiltered first page takes the newest orders as they are placed; any page's rows follow their orders.
    const firstPage = !m.filter.q && !m.filter.status && !page.previous;
    const body = firstPage
      ? opsNewestRows(page.orders, m.restateUiUrl)
      : html`<tbody>${page.orders.map((o) => opsOrderRow(o, m.restateUiUrl))}</tbody>`;
    return html`<table class="lines all-orders">${opsOrdersHead}${body}</table>`;
  };
  const pager = (page: OrderPage) =>
    html`<nav class="pager" aria-label="Order pages">
      ${page.previous ? html`<a href="${listHref(m.filter)}" rel="first">Newest orders</a>` : ""}
      ${page.previous ? html`<a href="${listHref(m.filter, { before: encodeCursor(page.previous) })}" rel="prev">Newer orders</a>` : ""}
      ${page.next ? html`<a href="${listHref(m.filter, { after: encodeCursor(page.next) })}" rel="next">Older orders</a>` : ""}
    </nav>`;
  return {
    title: "Operations",
    // Live: the approvals list and the order rows move as orders move (/ops/events, no polling).
    body: opsLiveRegion(
      html`${providerAlertBanner(m.alerts ?? [])}
      <h1>Operations</h1>
      ${m.notice ? html`<p class="notice" role="status">${m.notice}</p>` : ""}
      <p class="signed-in">Signed in as <strong data-operator>${m.operator}</strong>. <a href="/ops/stock">Stock</a> · ${opsOverviewLink}</p>
      <form method="post" action="/ops/logout" class="inline-form"><input type="hidden" name="_csrf" value="${m.csrfToken}"><button type="submit" class="secondary">Sign out</button></form>
      ${opsApprovals(m.pending, m.csrfToken, m.restateUiUrl)}
      <h2 id="orders">All orders</h2>
      ${Object.values(errors).some(Boolean) ? html`<p class="form-error" role="alert">Please correct the search below.</p>` : ""}
      ${filterForm(m.filter, errors)}
      ${m.page ? html`${list(m.page)}${pager(m.page)}` : ""}`,
      ["approvals", "orders"],
    ),
  };
}
