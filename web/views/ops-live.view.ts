/**
 * The parts of the operator pages that move: an order's row, the first page of the order list and
 * the approvals list. Each carries its own `sse-swap`, so a fragment from `/ops/events` replaces
 * it in place (and the replacement listens again); a page shows only the parts it wants, and an
 * event for a row the page does not show finds no listener and is dropped without an error.
 *
 * Ids and events (the dashboard's markup must use these):
 *   <tr id="order-row-<id>">     event `order-<id>`     (outerHTML: the row when that order moves)
 *   <tbody id="order-rows">      event `orders-newest`  (outerHTML: the newest orders, when one is placed)
 *   <section id="ops-approvals"> event `approvals`      (outerHTML: the whole list, when it changes)
 */
import { html, type SafeHtml } from "../../shared/html.ts";
import { formatMoney } from "../../shared/money.ts";
import type { OpsOrderRow } from "../adapters/ops-live.repo.ts";
import { invocationUrl } from "./invocation-link.view.ts";

/** The SSE event that carries one order's row. */
export const orderRowEvent = (orderId: string): string => `order-${orderId}`;

/** An order's cells, the one place they are drawn: the dashboard's rows, its live rows and the approvals list. */
function cells(o: OpsOrderRow, restateUiUrl: string | undefined): SafeHtml {
  const link = invocationUrl(restateUiUrl, o.invocationId);
  // The order's id is the way into its operator page, whatever can still be done to it there.
  return html`<td><a href="/ops/orders/${o.id}/actions" class="order-actions"><code>${o.id}</code></a></td>
    <td>${o.createdAt.slice(0, 16).replace("T", " ")}</td>
    <td>${o.email}</td>
    <td>${formatMoney(o.totalCents, o.currency)}</td>
    <td class="order-status status-${o.status}">${o.status.replace("_", " ")}${o.statusReason ? html`<br><small>${o.statusReason}</small>` : ""}${o.approvedBy ? html`<br><small class="decided-by">approved by ${o.approvedBy}</small>` : ""}</td>
    <td>${link ? html`<a href="${link}" target="_blank" rel="noopener" hx-boost="false">invocation</a>` : ""}</td>`;
}

/** One order in the list of all orders; it replaces itself when the order moves. */
export function opsOrderRow(o: OpsOrderRow, restateUiUrl: string | undefined): SafeHtml {
  return html`<tr id="order-row-${o.id}" data-order-id="${o.id}" sse-swap="${orderRowEvent(o.id)}" hx-swap="outerHTML">${cells(o, restateUiUrl)}</tr>`;
}

/** The body of the order list's first page: replaced with the newest orders when one is placed. */
export function opsNewestRows(rows: readonly OpsOrderRow[], restateUiUrl: string | undefined): SafeHtml {
  return html`<tbody id="order-rows" sse-swap="orders-newest" hx-swap="outerHTML">${rows.map((o) => opsOrderRow(o, restateUiUrl))}</tbody>`;
}

function decisionForm(orderId: string, action: "approve" | "reject", csrfToken: string): SafeHtml {
  // The live list may replace this form while its POST is in flight, and htmx forgets that a
  // replaced form was boosted: saying so on the form keeps the address bar following the answer.
  return html`<form method="post" action="/ops/orders/${orderId}/${action}" class="inline-form" hx-push-url="true">
    <input type="hidden" name="_csrf" value="${csrfToken}">
    <button type="submit" class="${action === "reject" ? "secondary" : ""}" data-action="${action}">${action === "approve" ? "Approve" : "Reject"}</button>
  </form>`;
}

const HEAD = html`<tr><th>Order</th><th>Placed (UTC)</th><th>Customer</th><th>Total</th><th>Status</th><th>Restate</th>`;

/** The orders awaiting a decision, with Approve / Reject; the whole list is replaced when it changes. */
export function opsApprovals(pending: readonly OpsOrderRow[], csrfToken: string, restateUiUrl: string | undefined): SafeHtml {
  return html`<section id="ops-approvals" sse-swap="approvals" hx-swap="outerHTML">
    <h2>Awaiting approval (${pending.length})</h2>
    ${
      pending.length === 0
        ? html`<p>No order is waiting for approval.</p>`
        : html`<table class="lines pending"><thead>${HEAD}<th>Decision</th></tr></thead><tbody>${pending.map(
            (o) =>
              html`<tr id="approval-row-${o.id}" data-order-id="${o.id}">${cells(o, restateUiUrl)}<td>${decisionForm(o.id, "approve", csrfToken)} ${decisionForm(o.id, "reject", csrfToken)}</td></tr>`,
          )}</tbody></table>`
    }
  </section>`;
}

/** The head of the order list that `opsNewestRows` fills. */
export const opsOrdersHead = html`<thead>${HEAD}</tr></thead>`;

/**
 * Makes an operator page live: its `sse-swap` parts (above) listen to `/ops/events`. `topics`
 * keeps what the page does not show off the wire (all by default).
 */
export function opsLiveRegion(body: SafeHtml, topics?: readonly string[]): SafeHtml {
  const url = topics ? `/ops/events?topics=${topics.join(",")}` : "/ops/events";
  return html`<div class="live" hx-ext="sse" sse-connect="${url}">${body}</div>`;
}

/** The operator pages' link to the live overview. */
export const opsOverviewLink = html`<a href="/ops/overview">Shop overview (live)</a>`;
