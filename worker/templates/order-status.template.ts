/** "Your order was cancelled / not completed", "Your order has shipped" and "Refunded by the shop": HTML and plain text. */
import { z } from "zod";
import { html } from "../../shared/html.ts";
import { formatMoney } from "../../shared/money.ts";
import { emailLayout } from "./email-layout.template.ts";
import { orderReference } from "../../shared/order-reference.ts";

export const orderCancelledData = z.object({
  orderId: z.string(),
  orderUrl: z.url(),
  reason: z.string().max(500),
  refundedCents: z.number().int().min(0),
  currency: z.string().length(3),
});
export type OrderCancelledData = z.infer<typeof orderCancelledData>;

export function renderOrderCancelled(d: OrderCancelledData) {
  const subject = `Order cancelled: ${orderReference(d.orderId)}`;
  const refund =
    d.refundedCents > 0
      ? `We refunded ${formatMoney(d.refundedCents, d.currency)} to your payment method.`
      : "You were not charged.";
  const body = html`<p style="margin:0 0 12px;">Your order could not be completed and has been cancelled.</p>
    <p style="margin:0 0 12px;"><strong>Reason:</strong> ${d.reason}</p>
    <p style="margin:0 0 12px;">${refund}</p>
    <p style="margin:12px 0;"><a href="${d.orderUrl}" style="color:#12385b;">See your order</a></p>
    <p style="margin:12px 0;color:#5b6875;font-size:13px;">Order ${d.orderId}</p>`;
  const text = [
    "Your order could not be completed and has been cancelled.",
    `Reason: ${d.reason}`,
    refund,
    "",
    `See your order: ${d.orderUrl}`,
    `Order ${d.orderId}`,
  ].join("\n");
  return { subject, html: emailLayout(subject, body), text };
}

export const orderShippedData = z.object({ orderId: z.string(), orderUrl: z.url() });
export type OrderShippedData = z.infer<typeof orderShippedData>;

export function renderOrderShipped(d: OrderShippedData) {
  const subject = `Order shipped: ${orderReference(d.orderId)}`;
  const body = html`<p style="margin:0 0 12px;">Good news: your order is on its way.</p>
    <p style="margin:12px 0;"><a href="${d.orderUrl}" style="color:#12385b;">Follow your order</a></p>
    <p style="margin:12px 0;color:#5b6875;font-size:13px;">Order ${d.orderId}</p>`;
  const text = ["Good news: your order is on its way.", "", `Follow your order: ${d.orderUrl}`, `Order ${d.orderId}`].join("\n");
  return { subject, html: emailLayout(subject, body), text };
}

export const orderRefundedData = z.object({
  orderId: z.string(),
  orderUrl: z.url(),
  /** Says who: "Refunded by the shop (name): why". */
  reason: z.string().max(500),
  refundedCents: z.number().int().min(1),
  currency: z.string().length(3),
});
export type OrderRefundedData = z.infer<typeof orderRefundedData>;

export function renderOrderRefunded(d: OrderRefundedData) {
  const subject = `Order refunded: ${orderReference(d.orderId)}`;
  const amount = formatMoney(d.refundedCents, d.currency);
  const body = html`<p style="margin:0 0 12px;">Refunded by the shop: we refunded ${amount} to your payment method.</p>
    <p style="margin:0 0 12px;">${d.reason}</p>
    <p style="margin:0 0 12px;">Refunds usually reach your account within a few working days.</p>
    <p style="margin:12px 0;"><a href="${d.orderUrl}" style="color:#12385b;">See your order</a></p>
    <p style="margin:12px 0;color:#5b6875;font-size:13px;">Order ${d.orderId}</p>`;
  const text = [
    `Refunded by the shop: we refunded ${amount} to your payment method.`,
    d.reason,
    "Refunds usually reach your account within a few working days.",
    "",
    `See your order: ${d.orderUrl}`,
    `Order ${d.orderId}`,
  ].join("\n");
  return { subject, html: emailLayout(subject, body), text };
}
