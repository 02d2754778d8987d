/** Every email the system sends, by name: the EmailSender's request names one and passes its data. */
import { z } from "zod";
import { orderConfirmationData, renderOrderConfirmation } from "./order-confirmation.template.ts";

export const emailRequestSchema = z.object({
  idempotencyKey: z.string().min(1).max(200),
  to: z.email(),
  template: z.literal("order-confirmation"),
  data: orderConfirmationData,
});
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
  }
}
