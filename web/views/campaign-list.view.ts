/** "My campaigns": every campaign this browser session started, newest first. */
import { html } from "../../shared/html.ts";
import type { CampaignSummary } from "../adapters/campaigns-read.repo.ts";
import type { Page } from "./layout.view.ts";

export function campaignListPage(campaigns: CampaignSummary[]): Page {
  return {
    title: "My campaigns",
    body: html`<h1>My campaigns</h1>
      ${
        campaigns.length === 0
          ? html`<p>You have not sent a campaign from this browser yet.</p>`
          : html`<table class="lines campaigns">
              <thead><tr><th>Subject</th><th>Status</th><th>Sent</th><th>Bounced</th><th>Started</th></tr></thead>
              <tbody>
                ${campaigns.map(
                  (c) => html`<tr data-campaign-id="${c.id}">
                    <td><a href="/emails/${c.id}">${c.subject}</a></td>
                    <td>${c.status}</td>
                    <td>${c.counts.sent} of ${c.counts.total}</td>
                    <td>${c.counts.bounced}</td>
                    <td><time datetime="${c.createdAt}">${c.createdAt.slice(0, 16).replace("T", " ")} UTC</time></td>
                  </tr>`,
                )}
              </tbody>
            </table>`
      }
      <p><a class="button" href="/emails/new">New campaign</a></p>`,
  };
}
