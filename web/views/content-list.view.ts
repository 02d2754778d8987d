/** "My jobs": the content jobs this browser session started, newest first. */
import { html } from "../../shared/html.ts";
import { providerLabel } from "../../shared/content-job.schema.ts";
import type { ContentJobSummary } from "../adapters/content-jobs-read.repo.ts";
import type { Page } from "./layout.view.ts";

export function contentListPage(ids: string[], jobs: ContentJobSummary[]): Page {
  const byId = new Map(jobs.map((j) => [j.id, j]));
  return {
    title: "Your product copy",
    body: html`<h1>Your product copy</h1>
      ${
        ids.length === 0
          ? html`<p>You have not started a job from this browser yet. <a href="/content/new">Write some copy</a>.</p>`
          : html`<table class="lines content-jobs">
            <thead><tr><th>Product</th><th>Started</th><th>Languages</th><th>Written by</th><th>Status</th></tr></thead>
            <tbody>
              ${ids.map((id) => {
                const j = byId.get(id);
                return html`<tr data-job-id="${id}">
                  <td><a href="/content/${id}">${j?.productName ?? id.slice(-12)}</a></td>
                  <td>${j ? j.createdAt.slice(0, 16).replace("T", " ") : ""}</td>
                  <td>${j?.languages.join(", ") ?? ""}</td>
                  <td>${j ? providerLabel(j.provider, j.model) : ""}</td>
                  <td class="job-status status-${j?.status ?? "submitted"}">${j?.status ?? "submitted"}</td>
                </tr>`;
              })}
            </tbody>
          </table>`
      }
      <p><a class="button" href="/content/new">Write product copy</a></p>`,
  };
}
