/**
 * Every email the system sends, by name: the EmailSender's request names a template and passes
 * its data. Adding a template is one schema entry and one renderer entry. Order links are signed
 * here, when the message is rendered, so they open the order in any browser (not only the one
 * that placed it) and expire a fixed time after the message was sent.
 */
import { z } from "zod";
import type { ResourceLinks } from "../../shared/resource-link.ts";
import { campaignEmailData, renderCampaignEmail } from "./campaign-email.template.ts";
import { orderConfirmationData, renderOrderConfirmation } from "./order-confirmation.template.ts";
import { orderLinksData, renderOrderLinks } from "./order-links.template.ts";
import { orderCancelledData, orderShippedData, renderOrderCancelled, renderOrderShipped } from "./order-status.template.ts";

// Keys hold an address (campaign:<id>:<address>), so they may be as long as one.
const envelope = { idempotencyKey: z.string().min(1).max(320), to: z.email().max(254) };

export const emailRequestSchema = z.discriminatedUnion("template", [
  z.object({ ...envelope, template: z.literal("order-confirmation"), data: orderConfirmationData }),
  z.object({ ...envelope, template: z.literal("order-cancelled"), data: orderCancelledData }),
  z.object({ ...envelope, template: z.literal("order-shipped"), data: orderShippedData }),
  z.object({ ...envelope, template: z.literal("campaign"), data: campaignEmailData }),
  z.object({ ...envelope, template: z.literal("order-links"), data: orderLinksData }),
]);
export type EmailRequest = z.infer<typeof emailRequestSchema>;

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

/** What rendering needs to sign links: the web verifies them with the same keys. */
export type LinkSigner = Pick<ResourceLinks, "signUrl">;

export function renderEmail(req: EmailRequest, links: LinkSigner): RenderedEmail {
  const signed = <T extends { orderId: string; orderUrl: string }>(o: T): T => ({
    ...o,
    orderUrl: links.signUrl(o.orderUrl, "order", o.orderId),
  });
  switch (req.template) {
    case "order-confirmation":
      return renderOrderConfirmation(signed(req.data));
    case "order-cancelled":
      return renderOrderCancelled(signed(req.data));
    case "order-shipped":
      return renderOrderShipped(signed(req.data));
    case "campaign":
      return renderCampaignEmail(req.data);
    case "order-links":
      return renderOrderLinks({ orders: req.data.orders.map(signed) });
  }
}
