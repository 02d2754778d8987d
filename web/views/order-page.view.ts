/**
 * One order: a live progress panel (bar, status, cancel button while it can be cancelled), a
 * timeline of its steps with times, and its lines. The panel and the timeline entries are also
 * what the SSE stream sends, so the page and the stream render with the same code.
 */
import { html, type SafeHtml } from "../../shared/html.ts";
import { formatMoney } from "../../shared/money.ts";
import { isCancellable, isOrderSettled } from "../../shared/order-steps.ts";
import { isTerminal, type ProgressEvent, type ProgressSnapshot } from "../../shared/progress-event.ts";
import { invocationLine } from "./invocation-link.view.ts";
import type { OrderView } from "../adapters/orders-read.repo.ts";
import type { Page } from "./layout.view.ts";
import { orderReference } from "../../shared/order-reference.ts";

export const OUTCOME_LABELS: Record<string, string> = {
  fulfilled: "Fulfilled",
  rejected: "Rejected",
  cancelled: "Cancelled",
  failed: "Failed",
  refunded: "Refunded",
  refund_pending: "Refund pending",
  refund_failed: "Refund failed",
  disputed: "Disputed",
};

/** The provider's payment page, while the order waits for its payment (the event that opened it says where). */
export function paymentLink(s: Pick<ProgressSnapshot, "step" | "data">): string | null {
  const url = s.data?.paymentUrl;
  if (s.step !== "awaiting_payment" || typeof url !== "string") return null;
  try {
    const parsed = new URL(url);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.toString() : null;
  } catch {
    return null;
  }
}

/**
 * What was given back, from the order's last event: the workflow's cancel and the operator's refund
 * both say how much (`refundedCents`) and in which currency. Nothing when nothing was charged.
 */
export function refundLine(s: Pick<ProgressSnapshot, "data">): SafeHtml | "" {
  const cents = s.data?.refundedCents;
  const currency = s.data?.currency;
  if (typeof cents !== "number" || cents <= 0 || typeof currency !== "string" || !/^[A-Z]{3}$/.test(currency)) return "";
  return html`<p class="refund-line" data-refunded-cents="${cents}">We refunded ${formatMoney(cents, currency)} to your card.</p>`;
}

/**
 * The snapshot a page shows, completed from the order's row: the currency (events before it was
 * published carry none), and for a refund the stream no longer has, the whole amount (refunds are full).
 */
export function withRefundFromRow(s: ProgressSnapshot, order: OrderView | null): ProgressSnapshot {
  if (!order) return s;
  const refundedCents =
    s.data?.refundedCents ?? (order.status === "refunded" && s.step === "refunded" ? order.totalCents : undefined);
  if (refundedCents === undefined) return s;
  return { ...s, data: { ...s.data, refundedCents, currency: s.data?.currency ?? order.currency } };
}

export interface PanelControls {
  orderId: string;
  csrfToken: string;
}

export function progressPanel(s: ProgressSnapshot, restateUiUrl: string | undefined, controls?: PanelControls): SafeHtml {
  const outcome = isTerminal(s) ? (OUTCOME_LABELS[s.step] ?? s.step) : null;
  const pay = controls ? paymentLink(s) : null;
  // No indentation between the tags: the panel is sent again with every step of a live stream.
  return html`<div class="progress-panel status-${s.status}" data-seq="${s.seq}" data-status="${s.status}" data-step="${s.step}" data-percent="${s.percent}"><progress id="order-progress" max="100" value="${s.percent}" aria-label="Order progress">${s.percent} %</progress><p class="progress-message" role="status"><strong>${outcome ?? `${s.percent} %`}</strong> ${s.message}</p>${refundLine(s)}${
    pay
      ? html`<p class="pay-line"><a class="button pay-button" href="${pay}" hx-boost="false">Pay now</a> on Stripe's secure page. Your order is held for you until then.</p>`
      : ""
  }${invocationLine(restateUiUrl, s.invocationId)}${
    controls && isCancellable(s)
      ? html`<form method="post" action="/orders/${controls.orderId}/cancel" class="cancel-form"><input type="hidden" name="_csrf" value="${controls.csrfToken}"><button type="submit" class="secondary">Cancel order</button></form>`
      : ""
  }</div>`;
}

function clock(at: string | null): string {
  return at ? new Date(at).toISOString().slice(11, 19) : "";
}

export function timelineItem(e: Pick<ProgressEvent, "seq" | "step" | "message" | "at" | "status">): SafeHtml {
  return html`<li class="event status-${e.status}" data-seq="${e.seq}" data-step="${e.step}"><time datetime="${e.at}">${clock(e.at)}</time> ${e.message}</li>`;
}

/** Appends one entry to the page's timeline (an htmx out-of-band swap inside an SSE frame). */
export function timelineAppend(e: ProgressEvent): SafeHtml {
  return html`<ol hx-swap-oob="beforeend:#timeline">${timelineItem(e)}</ol>`;
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
    <p>Confirmation to <strong>${order.email}</strong> · placed ${order.createdAt.slice(0, 16).replace("T", " ")} UTC</p>
  </div>`;
}

export interface OrderPageModel {
  orderId: string;
  order: OrderView | null;
  snapshot: ProgressSnapshot;
  events: ProgressEvent[];
  restateUiUrl: string | undefined;
  csrfToken: string;
  /** An operator reading the customer's page: no cancel button, no "My orders" links. */
  readOnly?: boolean;
  notice?: string | undefined;
}

export function orderPage(m: OrderPageModel): Page {
  // A fulfilled order's page keeps listening: a refund, its outcome or a dispute may still come.
  const live = !isOrderSettled(m.snapshot);
  const panel = progressPanel(
    withRefundFromRow(m.snapshot, m.order),
    m.restateUiUrl,
    m.readOnly ? undefined : { orderId: m.orderId, csrfToken: m.csrfToken },
  );
  // The stream resumes after the last event already on the page, so nothing is shown twice.
  const after = m.events.at(-1)?.seq ?? m.snapshot.seq;
  return {
    title: `Order ${orderReference(m.orderId)}`,
    body: html`<section class="order" data-order-id="${m.orderId}">
      <h1>Order <code>${orderReference(m.orderId)}</code></h1>
      <p class="order-id">Order id <code>${m.orderId}</code></p>
      ${m.notice ? html`<p class="notice" role="status">${m.notice}</p>` : ""}
      ${
        live
          ? html`<div class="live" hx-ext="sse" sse-connect="/orders/${m.orderId}/events?after=${after}&until=settled" sse-close="done">
            <div id="progress" sse-swap="progress" hx-swap="innerHTML" hx-target="this">${panel}</div>
          </div>`
          : html`<div id="progress">${panel}</div>`
      }
      <h2>Timeline</h2>
      <ol id="timeline" class="timeline">${m.events.map(timelineItem)}</ol>
      ${orderDetails(m.orderId, m.order)}
      ${
        m.readOnly
          ? html`<p class="notice" role="note">You are reading the customer's page as an operator: nothing here changes the order. <a href="/ops/orders/${m.orderId}/actions">The operator's page</a></p>`
          : html`<p><a href="/orders">My orders</a> · <a href="/orders/new">Place another order</a></p>`
      }
    </section>`,
  };
}
