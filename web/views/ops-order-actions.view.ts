/**
 * `/ops/orders/:id/actions`: one order as an operator acts on it. Cancel while it has not shipped
 * (the workflow's own cancel path), "ship now" while it waits to ship, refund once it is fulfilled
 * (again after a refund the bank refused);
 * cancel and refund ask for a reason, and all are recorded with the operator's name. The refund
 * form carries a request id rendered with it.
 */
import { html, type SafeHtml } from "../../shared/html.ts";
import { formatMoney } from "../../shared/money.ts";
import { orderReference } from "../../shared/order-reference.ts";
import { cancellableStatuses, refundableStatuses } from "../../shared/order-steps.ts";
import type { OrderView } from "../adapters/orders-read.repo.ts";
import type { ProviderAlert } from "../adapters/provider-alerts-read.repo.ts";
import type { Page } from "./layout.view.ts";
import { providerAlertBanner } from "./ops.view.ts";

/** A confirmed order is in its shipping wait: "ship now" ends it (the workflow has the last word). */
const WAITING_TO_SHIP = "confirmed";

export type OrderAction = "cancel" | "refund" | "dispatch";

export interface OpsOrderActionsModel {
  order: OrderView;
  operator: string;
  csrfToken: string;
  refundRequestId: string;
  notice?: string | undefined;
  /** A refusal or a form error, shown as an alert: which action, and why. */
  problem?: { action: OrderAction; message: string; reason: string } | undefined;
  /** Recent provider alerts, shown in a banner at the top (a refused key may be why this order failed). */
  alerts?: readonly ProviderAlert[];
}

function dispatchForm(m: OpsOrderActionsModel): SafeHtml {
  return html`<form method="post" action="/ops/orders/${m.order.id}/dispatch" class="order-form dispatch-form" data-action="dispatch" novalidate>
    <input type="hidden" name="_csrf" value="${m.csrfToken}">
    <button type="submit">Ship now</button>
  </form>`;
}

function actionForm(action: "cancel" | "refund", m: OpsOrderActionsModel): SafeHtml {
  const id = `${action}-reason`;
  const kept = m.problem?.action === action ? m.problem.reason : "";
  return html`<form method="post" action="/ops/orders/${m.order.id}/${action}" class="order-form ${action}-form" data-action="${action}" novalidate>
    <input type="hidden" name="_csrf" value="${m.csrfToken}">
    ${action === "refund" ? html`<input type="hidden" name="requestId" value="${m.refundRequestId}">` : ""}
    <label for="${id}">${action === "refund" ? "Reason for the refund" : "Reason for cancelling"} (the customer sees it)</label>
    <input id="${id}" name="reason" type="text" maxlength="200" required value="${kept}">
    <button type="submit" class="${action === "cancel" ? "secondary" : ""}">${
      action === "refund" ? `Refund ${formatMoney(m.order.totalCents, m.order.currency)}` : "Cancel order"
    }</button>
  </form>`;
}

/** Why the page offers nothing: a shipped order is not finished, it only has to arrive before a refund. */
function whyNoAction(status: string): string {
  if (status === "shipped") return "Nothing can be done while it is on its way: it can be refunded here once it is fulfilled.";
  if (status === "refund_pending")
    return "The refund is pending at the bank: this page shows its outcome once the bank confirms it.";
  if (status === "disputed")
    return "The customer's bank disputes the payment: answer the dispute in the payment provider's dashboard.";
  return `Nothing can be done to this order any more: it is ${status.replaceAll("_", " ")}.`;
}

export function opsOrderActionsPage(m: OpsOrderActionsModel): Page {
  const o = m.order;
  return {
    title: `Order ${orderReference(o.id)} · operations`,
    body: html`${providerAlertBanner(m.alerts ?? [])}
      <section class="ops-order" data-order-id="${o.id}" data-status="${o.status}">
      <h1>Order <code>${o.id}</code></h1>
      ${m.notice ? html`<p class="notice" role="status">${m.notice}</p>` : ""}
      ${m.problem ? html`<p class="form-error" role="alert">${m.problem.message}</p>` : ""}
      <p class="order-status status-${o.status}">Status: <strong>${o.status.replaceAll("_", " ")}</strong>${
        o.statusReason ? html` · ${o.statusReason}` : ""
      }</p>
      <p>${o.email} · placed ${o.createdAt.slice(0, 16).replace("T", " ")} UTC · ${formatMoney(o.totalCents, o.currency)}</p>
      <table class="lines">
        <thead><tr><th>Product</th><th>Quantity</th><th>Price</th></tr></thead>
        <tbody>${o.lines.map(
          (l) =>
            html`<tr><td>${l.name}</td><td>${l.quantity}</td><td>${formatMoney(l.quantity * l.unitPriceCents, o.currency)}</td></tr>`,
        )}</tbody>
      </table>
      <p class="hint">Signed in as <strong>${m.operator}</strong>: what you do here is recorded with your name.</p>
      ${o.status === WAITING_TO_SHIP ? html`<h2>Ship now</h2><p>Ends the shipping wait: the order ships at once and the customer gets the shipped email.</p>${dispatchForm(m)}` : ""}
      ${cancellableStatuses.has(o.status) ? html`<h2>Cancel</h2><p>Stops the order before it ships: the payment is refunded or released and the stock returns.</p>${actionForm("cancel", m)}` : ""}
      ${refundableStatuses.has(o.status) ? html`<h2>Refund</h2><p>${o.status === "refund_failed" ? "The last refund failed at the bank. " : ""}Refunds the whole amount to the customer's payment method. The goods have shipped: stock is not returned.</p>${actionForm("refund", m)}` : ""}
      ${!cancellableStatuses.has(o.status) && !refundableStatuses.has(o.status) ? html`<p class="no-actions">${whyNoAction(o.status)}</p>` : ""}
      <p><a href="/orders/${o.id}">The customer's page</a> · <a href="/ops">Back to operations</a></p>
    </section>`,
  };
}
