/**
 * Every email the system sends, by name: the EmailSender's request names a template and passes
 * its data. Adding a template is one schema entry and one renderer entry.
 */
import { z } from "zod";
import { campaignEmailData, renderCampaignEmail } from "./campaign-email.template.ts";
import { orderConfirmationData, renderOrderConfirmation } from "./order-confirmation.template.ts";
import { orderCancelledData, orderShippedData, renderOrderCancelled, renderOrderShipped } from "./order-status.template.ts";

// Keys hold an address (campaign:<id>:<address>), so they may be as long as one.
const envelope = { idempotencyKey: z.string().min(1).max(320), to: z.email().max(254) };

export const emailRequestSchema = z.discriminatedUnion("template", [
  z.object({ ...envelope, template: z.literal("order-confirmation"), data: orderConfirmationData }),
  z.object({ ...envelope, template: z.literal("order-cancelled"), data: orderCancelledData }),
  z.object({ ...envelope, template: z.literal("order-shipped"), data: orderShippedData }),
  z.object({ ...envelope, template: z.literal("campaign"), data: campaignEmailData }),
]);
export type EmailRequest = z.infer<typeof emailRequestSchema>;

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

export function renderEmail(req: EmailRequest): RenderedEmail {
  switch (req.template) {
    case "order-confirmation":
      return renderOrderConfirmation(req.data);
    case "order-cancelled":
      return renderOrderCancelled(req.data);
    case "order-shipped":
      return renderOrderShipped(req.data);
    case "campaign":
      return renderCampaignEmail(req.data);
  }
}
