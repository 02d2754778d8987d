/** The operator pages: sign-in, and the dashboard of pending approvals and all orders. */
import { html, type SafeHtml } from "../../shared/html.ts";
import { formatMoney } from "../../shared/money.ts";
import type { OrderSummary } from "../adapters/orders-read.repo.ts";
import type { Page } from "./layout.view.ts";
import { invocationUrl } from "./invocation-link.view.ts";

export function opsLoginPage(csrfToken: string, error?: string): Page {
  return {
    title: "Operator sign-in",
    body: html`<h1>Operator sign-in</h1>
      ${error ? html`<p class="form-error" role="alert">${error}</p>` : ""}
      <form method="post" action="/ops/login" class="order-form">
        <input type="hidden" name="_csrf" value="${csrfToken}">
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required>
        <button type="submit">Sign in</button>
      </form>`,
  };
}

function decisionForm(orderId: string, action: "approve" | "reject", csrfToken: string): SafeHtml {
  return html`<form method="post" action="/ops/orders/${orderId}/${action}" class="inline-form">
    <input type="hidden" name="_csrf" value="${csrfToken}">
    <button type="submit" class="${action === "reject" ? "secondary" : ""}" data-action="${action}">${action === "approve" ? "Approve" : "Reject"}</button>
  </form>`;
}

export interface OpsModel {
  pending: OrderSummary[];
  orders: OrderSummary[];
  csrfToken: string;
  restateUiUrl: string | undefined;
  notice?: string | undefined;
}

export function opsDashboardPage(m: OpsModel): Page {
  const row = (o: OrderSummary, actions: boolean) => {
    const link = invocationUrl(m.restateUiUrl, o.invocationId);
    return html`<tr data-order-id="${o.id}">
      <td><code>${o.id.slice(-12)}</code></td>
      <td>${o.createdAt.slice(0, 16).replace("T", " ")}</td>
      <td>${o.email}</td>
      <td>${formatMoney(o.totalCents, o.currency)}</td>
      <td class="order-status status-${o.status}">${o.status.replace("_", " ")}${o.statusReason ? html`<br><small>${o.statusReason}</small>` : ""}</td>
      <td>${link ? html`<a href="${link}" target="_blank" rel="noopener" hx-boost="false">invocation</a>` : ""}</td>
      ${actions ? html`<td>${decisionForm(o.id, "approve", m.csrfToken)} ${decisionForm(o.id, "reject", m.csrfToken)}</td>` : ""}
    </tr>`;
  };
  const head = (actions: boolean) =>
    html`<thead><tr><th>Order</th><th>Placed (UTC)</th><th>Customer</th><th>Total</th><th>Status</th><th>Restate</th>${actions ? html`<th>Decision</th>` : ""}</tr></thead>`;
  return {
    title: "Operations",
    body: html`<h1>Operations</h1>
      ${m.notice ? html`<p class="notice" role="status">${m.notice}</p>` : ""}
      <form method="post" action="/ops/logout" class="inline-form"><input type="hidden" name="_csrf" value="${m.csrfToken}"><button type="submit" class="secondary">Sign out</button></form>
      <h2>Awaiting approval (${m.pending.length})</h2>
      ${
        m.pending.length === 0
          ? html`<p>No order is waiting for approval.</p>`
          : html`<table class="lines pending">${head(true)}<tbody>${m.pending.map((o) => row(o, true))}</tbody></table>`
      }
      <h2>All orders</h2>
      <table class="lines all-orders">${head(false)}<tbody>${m.orders.map((o) => row(o, false))}</tbody></table>`,
  };
}
