/**
 * A campaign message: the subject and body the sender wrote, as HTML and plain text, with the
 * recipient's one-click unsubscribe link in the footer and in the RFC 8058 headers.
 */
import { z } from "zod";
import { html } from "../../shared/html.ts";
import { bodyFormatSchema, MAX_BODY_LENGTH, MAX_SUBJECT_LENGTH } from "../../shared/campaign.schema.ts";
import { markdownToEmailHtml, plainTextToEmailHtml } from "./campaign-body.template.ts";
import { emailLayout } from "./email-layout.template.ts";

/**
 * What the EmailSender request carries for one recipient: a reference to the stored campaign,
 * not its body, so the journal holds the body once (the workflow's input), not once per recipient.
 */
export const campaignEmailRef = z.object({
  campaignId: z.uuid(),
  /** The unsigned one-click URL (shared/unsubscribe-link.ts); signed when the message is rendered. */
  unsubscribeUrl: z.url(),
});
export type CampaignEmailRef = z.infer<typeof campaignEmailRef>;

/** What rendering needs: the stored content and the signed unsubscribe URL. */
export const campaignEmailData = z.object({
  campaignId: z.string(),
  subject: z.string().min(1).max(MAX_SUBJECT_LENGTH),
  body: z.string().min(1).max(MAX_BODY_LENGTH),
  format: bodyFormatSchema,
  unsubscribeUrl: z.url(),
});
export type CampaignEmailData = z.infer<typeof campaignEmailData>;

export function renderCampaignEmail(d: CampaignEmailData) {
  const content = d.format === "markdown" ? markdownToEmailHtml(d.body) : plainTextToEmailHtml(d.body);
  const footer = html`<p style="margin:20px 0 0;color:#5b6875;font-size:12px;">
    Sent by Quayside · campaign ${d.campaignId} ·
    <a href="${d.unsubscribeUrl}" style="color:#5b6875;">Unsubscribe</a>
  </p>`;
  // Markdown source reads well as it is, so it is the text part; plain text is the text part by definition.
  const text = `${d.body.trim()}\n\n--\nSent by Quayside · campaign ${d.campaignId}\nUnsubscribe: ${d.unsubscribeUrl}`;
  return {
    subject: d.subject,
    html: emailLayout(d.subject, html`${content}${footer}`),
    text,
    // RFC 8058: a mail client may POST "List-Unsubscribe=One-Click" to the https URL, without asking.
    headers: { "List-Unsubscribe": `<${d.unsubscribeUrl}>`, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click" },
  };
}
