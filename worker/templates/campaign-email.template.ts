/** A campaign message: the subject and body the sender wrote, as HTML and plain text. */
import { z } from "zod";
import { html } from "../../shared/html.ts";
import { bodyFormatSchema, MAX_BODY_LENGTH, MAX_SUBJECT_LENGTH } from "../../shared/campaign.schema.ts";
import { markdownToEmailHtml, plainTextToEmailHtml } from "./campaign-body.template.ts";
import { emailLayout } from "./email-layout.template.ts";

export const campaignEmailData = z.object({
  campaignId: z.string(),
  subject: z.string().min(1).max(MAX_SUBJECT_LENGTH),
  body: z.string().min(1).max(MAX_BODY_LENGTH),
  format: bodyFormatSchema,
});
export type CampaignEmailData = z.infer<typeof campaignEmailData>;

export function renderCampaignEmail(d: CampaignEmailData) {
  const content = d.format === "markdown" ? markdownToEmailHtml(d.body) : plainTextToEmailHtml(d.body);
  const footer = html`<p style="margin:20px 0 0;color:#5b6875;font-size:12px;">Sent by Quayside · campaign ${d.campaignId}</p>`;
  // Markdown source reads well as it is, so it is the text part; plain text is the text part by definition.
  const text = `${d.body.trim()}\n\n--\nSent by Quayside · campaign ${d.campaignId}`;
  return { subject: d.subject, html: emailLayout(d.subject, html`${content}${footer}`), text };
}
