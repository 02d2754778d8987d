/** "Email me my orders": one address field, and the same answer whatever the address. */
import { html } from "../../shared/html.ts";
import type { Page } from "./layout.view.ts";

export interface OrderLookupValues {
  lookupId: string;
  email: string;
}

export type OrderLookupErrors = Partial<Record<keyof OrderLookupValues, string>>;

export const LOOKUP_SENT =
  "If there are orders for that address, we have sent it an email with a link to each of them. It can take a minute to arrive.";

export function orderLookupPage(
  values: OrderLookupValues,
  csrfToken: string,
  opts: { errors?: OrderLookupErrors; sent?: boolean } = {},
): Page {
  const errors = opts.errors ?? {};
  const fieldError = (name: keyof OrderLookupValues) =>
    errors[name] ? html`<p class="field-error" id="${name}-error">${errors[name]}</p>` : "";
  return {
    title: "Email me my orders",
    body: html`<h1>Email me my orders</h1>
      ${opts.sent ? html`<p class="notice" role="status">${LOOKUP_SENT}</p>` : ""}
      ${Object.values(errors).some(Boolean) ? html`<p class="form-error" role="alert">Please correct the field marked below.</p>` : ""}
      <p>Placed an order in another browser or on another device? Enter the address you ordered with and we will email
        you a link to each of your recent orders. Opening a link shows the order here and adds it to "My orders".</p>
      <form method="post" action="/orders/find" class="order-lookup-form" novalidate>
        <input type="hidden" name="_csrf" value="${csrfToken}">
        <input type="hidden" name="lookupId" value="${values.lookupId}">
        ${fieldError("lookupId")}
        <label for="email">Email address</label>
        <input id="email" name="email" type="email" autocomplete="email" required value="${values.email}">
        ${fieldError("email")}
        <button type="submit">Email me my orders</button>
      </form>`,
  };
}
