/** The catalog: every product with its price and the stock left. */
import { html } from "../../shared/html.ts";
import { formatMoney } from "../../shared/money.ts";
import type { Product } from "../adapters/catalog.repo.ts";
import type { Page } from "./layout.view.ts";

export function catalogPage(products: Product[]): Page {
  return {
    title: "Catalog",
    body: html`<h1>Catalog</h1>
      <ul class="products">
        ${products.map(
          (p) => html`<li class="product" data-sku="${p.sku}">
            <h2>${p.name}</h2>
            <p>${p.description}</p>
            <p class="price">${formatMoney(p.priceCents, p.currency)}</p>
            <p class="stock">${p.stock > 0 ? html`<span data-stock="${p.stock}">${p.stock} in stock</span>` : html`<span class="out" data-stock="0">Sold out</span>`}</p>
          </li>`,
        )}
      </ul>
      <p><a class="button" href="/orders/new">Place an order</a></p>`,
  };
}
