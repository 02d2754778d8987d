/**
 * One order: its lines, and a live progress panel. The panel is also the SSE payload, so the page
 * and the stream render progress with the same code.
 */
import { html, type SafeHtml } from "../../shared/html.ts";
import { formatMoney } from "../../shared/money.ts";
import { isTerminal, type ProgressSnapshot } from "../../shared/progress-event.ts";
import type { OrderView } from "../adapters/catalog.repo.ts";
import type { Page } from "./layout.view.ts";

const ORDER_STEPS: ReadonlyArray<{ step: string; label: string; percent: number }> = [
  { step: "received", label: "Received", percent: 5 },
  { step: "persisted", label: "Saved", percent: 15 },
  { step: "reserved", label: "Stock reserved", percent: 40 },
  { step: "paid", label: "Paid", percent: 65 },
  { step: "emailed", label: "Confirmation emailed", percent: 90 },
  { step: "completed", label: "Complete", percent: 100 },
];

export function invocationUrl(restateUiUrl: string | undefined, invocationId: string | null): string | null {
  if (!restateUiUrl || !invocationId) return null;
  // Joined as text, so a UI served under a path prefix keeps it.
  return `${restateUiUrl.replace(/\/+$/, "")}/ui/invocations/${encodeURIComponent(invocationId)}`;
}

export function progressPanel(s: ProgressSnapshot, restateUiUrl: string | undefined): SafeHtml {
  const failed = s.status === "failed" || s.status === "cancelled";
  const link = invocationUrl(restateUiUrl, s.invocationId);
  return html`<div class="progress-panel status-${s.status}" data-seq="${s.seq}" data-status="${s.status}" data-percent="${s.percent}">
    <progress id="order-progress" max="100" value="${s.percent}" aria-label="Order progress">${s.percent} %</progress>
    <p class="progress-message" role="status"><strong>${s.percent} %</strong> ${s.message}</p>
    <ol class="steps">
      ${ORDER_STEPS.map((st) => {
        const state = failed && st.percent > s.percent ? "skipped" : st.percent <= s.percent && s.seq > 0 ? "done" : "pending";
        return html`<li class="step ${state}" data-step="${st.step}">${st.label}</li>`;
      })}
    </ol>
    ${
      s.invocationId
        ? html`<p class="invocation">Invocation <code>${s.invocationId}</code>${link ? html` · <a href="${link}" target="_blank" rel="noopener" hx-boost="false">open in the Restate UI</a>` : ""}</p>`
        : ""
    }
  </div>`;
}

/** The order's lines; until the worker has saved them, a placeholder that reloads itself. */
export function orderDetails(orderId: string, order: OrderView | null): SafeHtml {
  if (!order) {
    return html`<div class="order-details pending-note" hx-get="/orders/${orderId}" hx-trigger="every 1s" hx-select=".order-details"
      hx-target="this" hx-swap="outerHTML" hx-push-url="false">Your order has been handed to a worker; its details appear here once saved.</div>`;
  }
  return html`<div class="order-details">
    <table class="lines">
      <thead><tr><th>Product</th><th>Quantity</th><th>Price</th></tr></thead>
      <tbody>
        ${order.lines.map(
          (l) =>
            html`<tr><td>${l.name}</td><td>${l.quantity}</td><td>${formatMoney(l.quantity * l.unitPriceCents, order.currency)}</td></tr>`,
        )}
      </tbody>
      <tfoot><tr><th colspan="2">Total</th><th>${formatMoney(order.totalCents, order.currency)}</th></tr></tfoot>
    </table>
    <p>Confirmation to <strong>${order.email}</strong>${order.statusReason ? html` · <span class="reason">${order.statusReason}</span>` : ""}</p>
  </div>`;
}

export function orderPage(
  orderId: string,
  order: OrderView | null,
  snapshot: ProgressSnapshot,
  restateUiUrl: string | undefined,
): Page {
  const live = !isTerminal(snapshot);
  const panel = progressPanel(snapshot, restateUiUrl);
  return {
    title: `Order ${orderId.slice(-12)}`,
    body: html`<section class="order" data-order-id="${orderId}">
      <h1>Order <code>${orderId}</code></h1>
      ${
        live
          ? html`<div class="live" hx-ext="sse" sse-connect="/orders/${orderId}/events" sse-close="done">
            <div id="progress" sse-swap="progress" hx-swap="innerHTML" hx-target="this">${panel}</div>
          </div>`
          : html`<div id="progress">${panel}</div>`
      }
      ${orderDetails(orderId, order)}
      <p><a href="/orders/new">Place another order</a></p>
    </section>`,
  };
}
