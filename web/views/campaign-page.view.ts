/**
 * One campaign: a live panel (bar, "k of N sent", counts, stop button) and a per-recipient table.
 * The panel and each row are also what the SSE stream sends, so page and stream share this code.
 */
import { html, type SafeHtml } from "../../shared/html.ts";
import { isTerminal, type ProgressSnapshot } from "../../shared/progress-event.ts";
import type { CampaignView, RecipientStatus, RecipientView } from "../adapters/campaigns-read.repo.ts";
import type { Page } from "./layout.view.ts";
import { shareLink } from "./share-link.view.ts";
import { invocationLine } from "./invocation-link.view.ts";

export interface CampaignPageOptions {
  csrfToken: string;
  restateUiUrl: string | undefined;
  /** The dev mail catcher's UI; undefined in prod. */
  mailUiUrl: string | undefined;
  /** A signed link to this campaign's page, for another browser. */
  shareUrl?: string;
}

const STATUS_LABELS: Record<RecipientStatus, string> = {
  pending: "Pending",
  sent: "Sent",
  bounced: "Bounced",
  failed: "Failed",
  cancelled: "Not sent (cancelled)",
  suppressed: "Not sent (unsubscribed)",
};

const count = (s: ProgressSnapshot, name: string): number => {
  const v = s.data?.[name];
  return typeof v === "number" ? v : 0;
};

export function campaignPanel(campaignId: string, s: ProgressSnapshot, opts: CampaignPageOptions): SafeHtml {
  const counts = (["sent", "bounced", "failed", "pending"] as const).map((name) => ({ name, value: count(s, name) }));
  return html`<div class="progress-panel campaign-panel status-${s.status}" data-seq="${s.seq}" data-status="${s.status}" data-percent="${s.percent}" data-sent="${count(s, "sent")}" data-total="${count(s, "total")}">
    <progress id="campaign-bar" max="100" value="${s.percent}" aria-label="Campaign progress">${s.percent} %</progress>
    <p class="progress-message" role="status"><strong>${s.percent} %</strong> ${s.message}</p>
    <dl class="counts">
      ${counts.map((c) => html`<div class="count ${c.name}"><dt>${c.name}</dt><dd data-count="${c.name}">${c.value}</dd></div>`)}
    </dl>
    ${
      isTerminal(s)
        ? ""
        : html`<form method="post" action="/emails/${campaignId}/cancel" class="cancel-form">
            <input type="hidden" name="_csrf" value="${opts.csrfToken}">
            <button type="submit" class="secondary">Stop sending</button>
          </form>`
    }
    ${invocationLine(opts.restateUiUrl, s.invocationId)}
  </div>`;
}

/**
 * One recipient's row. On the page it is plain; in an SSE frame it travels out of band (`oob`),
 * inside the same `progress` event as the counts, so htmx swaps both together and no row update
 * can arrive before the element that should receive it exists.
 */
export function recipientRow(r: RecipientView, oob = false): SafeHtml {
  // Table rows cannot stand at the top of an HTML fragment: htmx unwraps them from a <template>.
  if (oob) return html`<template>${row(r, html` hx-swap-oob="outerHTML"`)}</template>`;
  return row(r, "");
}

function row(r: RecipientView, swap: SafeHtml | string): SafeHtml {
  return html`<tr id="rcpt-${r.position}" class="rcpt ${r.status}" data-status="${r.status}"${swap}>
    <td>${r.position + 1}</td><td>${r.address}</td><td>${STATUS_LABELS[r.status]}</td><td class="detail">${r.error ?? ""}</td>
  </tr>`;
}

export function recipientRows(recipients: RecipientView[]): SafeHtml {
  return html`${recipients.map((r) => recipientRow(r))}`;
}

/** Every row at once, out of band: the start of a stream brings the table up to its snapshot. */
export function recipientRowsOob(recipients: RecipientView[]): SafeHtml {
  return html`<template><tbody id="recipients" hx-swap-oob="innerHTML">${recipientRows(recipients)}</tbody></template>`;
}

/**
 * The recipients; until the worker has saved the campaign, a placeholder that reloads itself. The
 * placeholder holds an empty, hidden recipients body, so rows the stream swaps in before the
 * reload (a busy machine) have a target instead of raising an htmx error.
 */
export function recipientsTable(campaignId: string, campaign: CampaignView | null): SafeHtml {
  if (!campaign) {
    return html`<div class="campaign-recipients pending-note" hx-get="/emails/${campaignId}" hx-trigger="every 1s" hx-select=".campaign-recipients"
      hx-target="this" hx-swap="outerHTML" hx-push-url="false">The campaign has been handed to a worker; its recipients appear here once saved.<table hidden><tbody id="recipients"></tbody></table></div>`;
  }
  return html`<div class="campaign-recipients">
    <table class="lines recipients">
      <thead><tr><th>#</th><th>Recipient</th><th>Outcome</th><th>Detail</th></tr></thead>
      <tbody id="recipients">${recipientRows(campaign.recipients)}</tbody>
    </table>
  </div>`;
}

export function campaignPage(
  campaignId: string,
  campaign: CampaignView | null,
  snapshot: ProgressSnapshot,
  opts: CampaignPageOptions,
): Page {
  const live = !isTerminal(snapshot);
  const panel = campaignPanel(campaignId, snapshot, opts);
  const table = recipientsTable(campaignId, campaign);
  return {
    title: campaign ? `Campaign: ${campaign.subject}` : "Campaign",
    body: html`<section class="campaign" data-campaign-id="${campaignId}">
      <h1>${campaign ? html`Campaign <q>${campaign.subject}</q>` : html`Campaign <code>${campaignId}</code>`}</h1>
      ${
        live
          ? html`<div class="live" hx-ext="sse" sse-connect="/emails/${campaignId}/events" sse-close="done">
              <div id="campaign-progress" sse-swap="progress" hx-swap="innerHTML" hx-target="this">${panel}</div>
              ${table}
            </div>`
          : html`<div id="campaign-progress">${panel}</div>${table}`
      }
      ${
        opts.mailUiUrl
          ? html`<p class="dev-note">Development: every message lands in the <a href="${opts.mailUiUrl}" target="_blank" rel="noopener" hx-boost="false">mail catcher</a>.</p>`
          : ""
      }
      ${shareLink(opts.shareUrl, "campaign")}
      <p><a href="/emails">My campaigns</a> · <a href="/emails/new">New campaign</a></p>
    </section>`,
  };
}
