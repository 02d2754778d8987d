/** "Your orders": one signed link per recent order of an address, HTML and plain text. */
import { z } from "zod";
import { html } from "../../shared/html.ts";
import { formatMoney } from "../../shared/money.ts";
import { emailLayout } from "./email-layout.template.ts";
import { orderReference } from "../../shared/order-reference.ts";

export const MAX_LINKED_ORDERS = 20;

export const orderLinksData = z.object({
  orders: z
    .array(
      z.object({
        orderId: z.string(),
        orderUrl: z.url(),
        placedAt: z.iso.datetime(),
        totalCents: z.number().int(),
        currency: z.string().length(3),
        status: z.string().max(40),
      }),
    )
    .min(1)
    .max(MAX_LINKED_ORDERS),
});
export type OrderLinksData = z.infer<typeof orderLinksData>;

const placed = (iso: string) => `${iso.slice(0, 16).replace("T", " ")} UTC`;
const statusText = (s: string) => s.replaceAll("_", " ");

export function renderOrderLinks(d: OrderLinksData) {
  const subject = "Your Quayside orders";
  const intro = "You asked for links to your orders. Each link opens the order, with its live progress, in any browser.";
  const warning = "Anyone with one of these links can see that order, so please do not forward this email.";
  const rows = d.orders.map(
    (o) => html`<tr>
      <td style="padding:6px 0;border-bottom:1px solid #e4e8ec;"><a href="${o.orderUrl}" style="color:#12385b;">Order ${orderReference(o.orderId)}</a></td>
      <td style="padding:6px 8px;border-bottom:1px solid #e4e8ec;">${placed(o.placedAt)}</td>
      <td style="padding:6px 8px;border-bottom:1px solid #e4e8ec;">${statusText(o.status)}</td>
      <td align="right" style="padding:6px 0;border-bottom:1px solid #e4e8ec;">${formatMoney(o.totalCents, o.currency)}</td>
    </tr>`,
  );
  const body = html`<p style="margin:0 0 12px;">${intro}</p>
    <table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="margin:12px 0;">${rows}</table>
    <p style="margin:12px 0;color:#5b6875;font-size:13px;">${warning} If you did not ask for it, you can ignore it.</p>`;
  const text = [
    intro,
    "",
    ...d.orders.map(
      (o) =>
        `Order ${orderReference(o.orderId)} · ${placed(o.placedAt)} · ${statusText(o.status)} · ${formatMoney(o.totalCents, o.currency)}\n  ${o.orderUrl}`,
    ),
    "",
    `${warning} If you did not ask for it, you can ignore it.`,
  ].join("\n");
  return { subject, html: emailLayout(subject, body), text };
}
