/**
 * Every email the system sends, by name: the EmailSender's request names a template and passes
 * its data. Adding a template is one schema entry and one renderer entry. Order links are signed
 * here, when the message is rendered, so they open the order in any browser (not only the one
 * that placed it) and expire a fixed time after the message was sent.
 */
import { z } from "zod";
import type { ResourceLinks } from "../../shared/resource-link.ts";
import { addressHash, UNSUBSCRIBE_KIND, unsubscribeTokenId } from "../../shared/unsubscribe-link.ts";
import { campaignEmailRef, renderCampaignEmail, type CampaignEmailData } from "./campaign-email.template.ts";
import { orderConfirmationData, renderOrderConfirmation } from "./order-confirmation.template.ts";
import { orderLinksData, renderOrderLinks } from "./order-links.template.ts";
import {
  orderCancelledData,
  orderRefundedData,
  orderShippedData,
  renderOrderCancelled,
  renderOrderRefunded,
  renderOrderShipped,
} from "./order-status.template.ts";

// Keys hold an address (campaign:<id>:<address>), so they may be as long as one.
const envelope = { idempotencyKey: z.string().min(1).max(320), to: z.email().max(254) };

export const emailRequestSchema = z.discriminatedUnion("template", [
  z.object({ ...envelope, template: z.literal("order-confirmation"), data: orderConfirmationData }),
  z.object({ ...envelope, template: z.literal("order-cancelled"), data: orderCancelledData }),
  z.object({ ...envelope, template: z.literal("order-shipped"), data: orderShippedData }),
  z.object({ ...envelope, template: z.literal("order-refunded"), data: orderRefundedData }),
  z.object({ ...envelope, template: z.literal("campaign"), data: campaignEmailRef }),
  z.object({ ...envelope, template: z.literal("order-links"), data: orderLinksData }),
]);
export type EmailRequest = z.infer<typeof emailRequestSchema>;

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
  /** Extra message headers (List-Unsubscribe on campaign messages). */
  headers?: Record<string, string>;
}

/** A request ready to render: a campaign's reference replaced by its stored content. */
export type RenderableEmail =
  | Exclude<EmailRequest, { template: "campaign" }>
  | (Omit<Extract<EmailRequest, { template: "campaign" }>, "data"> & { data: CampaignEmailData });

/** What rendering needs to sign links: the web verifies them with the same keys. */
export type LinkSigner = Pick<ResourceLinks, "signUrl">;

export function renderEmail(req: RenderableEmail, links: LinkSigner): RenderedEmail {
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
    case "order-refunded":
      return renderOrderRefunded(signed(req.data));
    case "campaign": {
      const id = unsubscribeTokenId(req.data.campaignId, addressHash(req.to));
      return renderCampaignEmail({ ...req.data, unsubscribeUrl: links.signUrl(req.data.unsubscribeUrl, UNSUBSCRIBE_KIND, id) });
    }
    case "order-links":
      return renderOrderLinks({ orders: req.data.orders.map(signed) });
  }
}
