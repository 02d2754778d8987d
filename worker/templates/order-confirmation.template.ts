/** "Your order is confirmed": HTML and plain text from the same data. */
import { z } from "zod";
import { html } from "../../shared/html.ts";
import { formatMoney } from "../../shared/money.ts";
import { emailLayout } from "./email-layout.template.ts";
import { orderReference } from "../../shared/order-reference.ts";

export const orderConfirmationData = z.object({
  orderId: z.string(),
  orderUrl: z.url(),
  totalCents: z.number().int(),
  currency: z.string().length(3),
  lines: z.array(z.object({ name: z.string(), sku: z.string(), quantity: z.number().int(), unitPriceCents: z.number().int() })),
});
export type OrderConfirmationData = z.infer<typeof orderConfirmationData>;

export function renderOrderConfirmation(d: OrderConfirmationData) {
  const subject = `Order confirmed: ${orderReference(d.orderId)}`;
  const rows = d.lines.map(
    (l) => html`<tr>
      <td style="padding:6px 0;border-bottom:1px solid #e4e8ec;">${l.quantity} × ${l.name}</td>
      <td align="right" style="padding:6px 0;border-bottom:1px solid #e4e8ec;">${formatMoney(l.quantity * l.unitPriceCents, d.currency)}</td>
    </tr>`,
  );
  const body = html`<p style="margin:0 0 12px;">Thank you: your order is confirmed and paid.</p>
    <table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="margin:12px 0;">${rows}
      <tr><td style="padding:8px 0;font-weight:bold;">Total</td><td align="right" style="padding:8px 0;font-weight:bold;">${formatMoney(d.totalCents, d.currency)}</td></tr>
    </table>
    <p style="margin:12px 0;"><a href="${d.orderUrl}" style="color:#12385b;">Follow your order</a></p>
    <p style="margin:12px 0;color:#5b6875;font-size:13px;">Order ${d.orderId}</p>`;
  const text = [
    "Thank you: your order is confirmed and paid.",
    "",
    ...d.lines.map((l) => `  ${l.quantity} x ${l.name}  ${formatMoney(l.quantity * l.unitPriceCents, d.currency)}`),
    `  Total  ${formatMoney(d.totalCents, d.currency)}`,
    "",
    `Follow your order: ${d.orderUrl}`,
    `Order ${d.orderId}`,
  ].join("\n");
  return { subject, html: emailLayout(subject, body), text };
}
