/** The campaign form: a hidden campaign id (the workflow key), the CSRF token, subject, body, recipients. */
import { html } from "../../shared/html.ts";
import { bodyFormats, MAX_BODY_LENGTH, MAX_SUBJECT_LENGTH, type CampaignFormValues } from "../../shared/campaign.schema.ts";
import type { Page } from "./layout.view.ts";

export type CampaignFieldErrors = Partial<Record<keyof CampaignFormValues | "form", string>>;

function fieldError(errors: CampaignFieldErrors, name: keyof CampaignFieldErrors) {
  const message = errors[name];
  return message ? html`<p class="field-error" id="${name}-error">${message}</p>` : "";
}

export function campaignFormPage(
  values: CampaignFormValues,
  csrfToken: string,
  maxRecipients: number,
  errors: CampaignFieldErrors = {},
): Page {
  const hasErrors = Object.values(errors).some(Boolean);
  return {
    title: "Email campaign",
    body: html`<h1>Email campaign</h1>
      <p>One message to many people. Each recipient gets their own copy; a bounced address is recorded and the rest go on.</p>
      ${hasErrors ? html`<p class="form-error" role="alert">Please correct the fields marked below.</p>` : ""}
      <form method="post" action="/emails" class="campaign-form" novalidate>
        <input type="hidden" name="_csrf" value="${csrfToken}">
        <input type="hidden" name="campaignId" value="${values.campaignId}">
        ${fieldError(errors, "campaignId")}
        <label for="subject">Subject</label>
        <input id="subject" name="subject" type="text" maxlength="${MAX_SUBJECT_LENGTH}" required value="${values.subject}">
        ${fieldError(errors, "subject")}
        <label for="format">Body format</label>
        <select id="format" name="format">
          ${Object.entries(bodyFormats).map(
            ([value, label]) => html`<option value="${value}" ${value === values.format ? "selected" : ""}>${label}</option>`,
          )}
        </select>
        ${fieldError(errors, "format")}
        <label for="body">Message</label>
        <textarea id="body" name="body" rows="10" maxlength="${MAX_BODY_LENGTH}" required>${values.body}</textarea>
        <p class="hint">Markdown: headings, lists, emphasis, links (http, https, mailto). HTML is shown as text; images are not sent.</p>
        ${fieldError(errors, "body")}
        <label for="recipients">Recipients</label>
        <textarea id="recipients" name="recipients" rows="8" required>${values.recipients}</textarea>
        <p class="hint">One address per line, or separated by commas. Duplicates are sent once; at most ${maxRecipients}.</p>
        ${fieldError(errors, "recipients")}
        <button type="submit">Send campaign</button>
      </form>`,
  };
}
