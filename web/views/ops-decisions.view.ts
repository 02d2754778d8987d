/** `/ops/decisions`: what operators did (approved, rejected, cancelled, shipped now, refunded, restocked), newest first, by page. */
import { html, type SafeHtml } from "../../shared/html.ts";
import { formatMoney } from "../../shared/money.ts";
import { encodeDecisionCursor, type DecisionPage, type DecisionView } from "../adapters/operator-decisions-read.repo.ts";
import type { Page } from "./layout.view.ts";

const OUTCOMES: Record<DecisionView["outcome"], string> = {
  accepted: "done",
  refused: "refused by the order",
  unknown: "no answer from the order system",
  requested: "asked, no answer yet",
};

function what(d: DecisionView): string {
  switch (d.kind) {
    case "approve":
      return "Approved";
    case "reject":
      return "Rejected";
    case "cancel":
      return "Cancelled";
    case "dispatch":
      return "Shipped now";
    case "refund":
      return d.amountCents !== null && d.currency ? `Refunded ${formatMoney(d.amountCents, d.currency)}` : "Refunded";
    case "restock":
      return `Restocked by ${d.delta ?? 0}`;
    case "correction":
      return `Corrected stock by ${d.delta ?? 0}`;
  }
}

function subject(d: DecisionView): SafeHtml {
  if (d.orderId) return html`<a href="/ops/orders/${d.orderId}/actions">order <code>${d.orderId}</code></a>`;
  return html`<a href="/ops/stock">${d.productName ?? d.sku ?? ""}</a>`;
}

function row(d: DecisionView): SafeHtml {
  return html`<tr data-kind="${d.kind}" data-operator="${d.operator}" data-order-id="${d.orderId ?? ""}">
    <td><time datetime="${d.at}">${d.at.slice(0, 19).replace("T", " ")}</time></td>
    <td>${d.operator}</td>
    <td>${what(d)}</td>
    <td>${subject(d)}</td>
    <td>${OUTCOMES[d.outcome]}</td>
    <td>${d.reason ?? ""}</td>
  </tr>`;
}

export function opsDecisionsPage(page: DecisionPage): Page {
  const href = (cursor?: { after: string } | { before: string }) =>
    cursor ? `/ops/decisions?${"after" in cursor ? `after=${cursor.after}` : `before=${cursor.before}`}` : "/ops/decisions";
  return {
    title: "Operator decisions",
    body: html`<h1>Operator decisions</h1>
      <p>Who approved, rejected, cancelled, shipped, refunded or changed stock, and when; newest first.</p>
      ${
        page.decisions.length === 0
          ? html`<p class="empty">No operator has done anything yet.</p>`
          : html`<table class="lines decisions">
              <thead><tr><th scope="col">When (UTC)</th><th scope="col">Operator</th><th scope="col">What</th><th scope="col">Of</th><th scope="col">Outcome</th><th scope="col">Reason</th></tr></thead>
              <tbody>${page.decisions.map(row)}</tbody>
            </table>`
      }
      <nav class="pager" aria-label="Decision pages">
        ${page.previous ? html`<a href="${href()}" rel="first">Newest decisions</a>` : ""}
        ${page.previous ? html`<a href="${href({ before: encodeDecisionCursor(page.previous) })}" rel="prev">Newer decisions</a>` : ""}
        ${page.next ? html`<a href="${href({ after: encodeDecisionCursor(page.next) })}" rel="next">Older decisions</a>` : ""}
      </nav>`,
  };
}
