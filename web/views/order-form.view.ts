/** The order form: a hidden order id (the workflow key), the CSRF token, quantities, email, payment. */
import { html } from "../../shared/html.ts";
import { formatMoney } from "../../shared/money.ts";
import { MAX_QUANTITY_PER_LINE, paymentMethods } from "../../shared/order.schema.ts";
import type { Product } from "../adapters/catalog.repo.ts";
import type { Page } from "./layout.view.ts";

export interface OrderFormValues {
  orderId: string;
  email: string;
  paymentMethod: string;
  quantities: Record<string, string>;
}

export type FieldErrors = Record<string, string | undefined>;

function fieldError(errors: FieldErrors, name: string) {
  const message = errors[name];
  return message ? html`<p class="field-error" id="${name}-error">${message}</p>` : "";
}

export interface OrderFormContext {
  csrfToken: string;
  approvalThresholdCents: number;
  /** The customer pays on the provider's own page after placing the order: no payment field here. */
  hostedPayment?: boolean;
}

export function orderFormPage(
  products: Product[],
  values: OrderFormValues,
  form: OrderFormContext,
  errors: FieldErrors = {},
): Page {
  const currency = products[0]?.currency ?? "EUR";
  const hasErrors = Object.values(errors).some(Boolean);
  return {
    title: "Place an order",
    body: html`<h1>Place an order</h1>
      ${hasErrors ? html`<p class="form-error" role="alert">Please correct the fields marked below.</p>` : ""}
      <form method="post" action="/orders" class="order-form" novalidate>
        <input type="hidden" name="_csrf" value="${form.csrfToken}">
        <input type="hidden" name="orderId" value="${values.orderId}">
        ${fieldError(errors, "orderId")}
        <fieldset>
          <legend>Products</legend>
          ${fieldError(errors, "quantities")}
          <table class="lines">
            <thead><tr><th>Product</th><th>Price</th><th>In stock</th><th>Quantity</th></tr></thead>
            <tbody>
              ${products.map(
                (p) => html`<tr>
                  <td><label for="qty-${p.sku}">${p.name}</label></td>
                  <td>${formatMoney(p.priceCents, p.currency)}</td>
                  <td>${p.stock}</td>
                  <td>
                    <input id="qty-${p.sku}" name="qty[${p.sku}]" type="number" inputmode="numeric" min="0"
                      max="${Math.min(MAX_QUANTITY_PER_LINE, p.stock)}" value="${values.quantities[p.sku] ?? ""}">
                    ${fieldError(errors, `qty[${p.sku}]`)}
                  </td>
                </tr>`,
              )}
            </tbody>
          </table>
        </fieldset>
        <label for="email">Email for the confirmation</label>
        <input id="email" name="email" type="email" autocomplete="email" required value="${values.email}">
        ${fieldError(errors, "email")}
        ${
          form.hostedPayment
            ? html`<p class="hint">You pay on Stripe's secure payment page once the order is placed: your card details never
                reach this shop. Orders of ${formatMoney(form.approvalThresholdCents, currency)} or more are only authorised
                until an operator approves them.</p>`
            : html`<label for="paymentMethod">Payment</label>
              <select id="paymentMethod" name="paymentMethod">
                ${Object.entries(paymentMethods).map(
                  ([value, label]) =>
                    html`<option value="${value}" ${value === values.paymentMethod ? "selected" : ""}>${label}</option>`,
                )}
              </select>
              ${fieldError(errors, "paymentMethod")}
              <p class="hint">Orders of ${formatMoney(form.approvalThresholdCents, currency)} or more wait for an operator's
                approval. The test cards let you try a decline or a provider that times out.</p>`
        }
        <button type="submit">Place order</button>
      </form>`,
  };
}
