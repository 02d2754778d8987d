/** "My orders": the orders this browser session placed or opened from a signed link, newest first. */
import { html } from "../../shared/html.ts";
import { formatMoney } from "../../shared/money.ts";
import type { OrderSummary } from "../adapters/orders-read.repo.ts";
import type { Page } from "./layout.view.ts";
import { orderReference } from "../../shared/order-reference.ts";

export function myOrdersPage(ids: string[], orders: OrderSummary[]): Page {
  const byId = new Map(orders.map((o) => [o.id, o]));
  return {
    title: "My orders",
    body: html`<h1>My orders</h1>
      ${
        ids.length === 0
          ? html`<p>You have not placed an order from this browser yet. <a href="/orders/new">Place one</a>.</p>`
          : html`<table class="lines orders">
            <thead><tr><th>Order</th><th>Placed</th><th>Total</th><th>Status</th></tr></thead>
            <tbody>
              ${ids.map((id) => {
                const o = byId.get(id);
                return html`<tr data-order-id="${id}">
                  <td><a href="/orders/${id}"><code>${orderReference(id)}</code></a></td>
                  <td>${o ? o.createdAt.slice(0, 16).replace("T", " ") : ""}</td>
                  <td>${o ? formatMoney(o.totalCents, o.currency) : ""}</td>
                  <td class="order-status status-${o?.status ?? "submitted"}">${o?.status.replace("_", " ") ?? "submitted"}</td>
                </tr>`;
              })}
            </tbody>
          </table>`
      }
      <p class="hint">Ordered in another browser or on another device? <a href="/orders/find">Email me my orders</a>.</p>`,
  };
}
