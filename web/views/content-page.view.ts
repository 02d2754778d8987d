/**
 * One content job: a live panel (bar, message, per-language progress, the text as it streams) and,
 * once done, the stored result with usage and cost. The panel is also the SSE payload. Model text
 * is untrusted: it only ever enters HTML through `html`, which escapes it.
 */
import { html, type SafeHtml } from "../../shared/html.ts";
import { contentLanguages, providerLabel } from "../../shared/content-job.schema.ts";
import { formatMoney } from "../../shared/money.ts";
import { isTerminal, type ProgressSnapshot } from "../../shared/progress-event.ts";
import { invocationLine } from "./invocation-link.view.ts";
import type { ContentJobView } from "../adapters/content-jobs-read.repo.ts";
import type { Page } from "./layout.view.ts";
import { shareLink } from "./share-link.view.ts";

const languageName = (code: string) => contentLanguages[code as keyof typeof contentLanguages] ?? code;

function offlineBadge(provider: unknown): SafeHtml | string {
  return provider === "offline"
    ? html`<p class="offline-badge" role="note">Written by the offline provider: placeholder text, no language model was called.</p>`
    : "";
}

export function contentPanel(s: ProgressSnapshot, restateUiUrl: string | undefined): SafeHtml {
  const data = s.data ?? {};
  const list = (v: unknown) => (typeof v === "string" && v !== "" ? v.split(",") : []);
  const done = new Set(list(data.done));
  // A lone CR ends a line in SSE, so it must never reach the stream inside a data line.
  const text = typeof data.text === "string" ? data.text.replace(/\r\n?/g, "\n") : "";
  const langState = (code: string) => {
    if (done.has(code) || s.status === "succeeded") return "done";
    if (s.status === "failed" || s.status === "cancelled") return "skipped";
    return s.step === "translating" ? "running" : "pending";
  };
  return html`<div class="progress-panel content-panel status-${s.status}" data-seq="${s.seq}" data-status="${s.status}" data-percent="${s.percent}">
    <progress id="content-progress" max="100" value="${s.percent}" aria-label="Job progress">${s.percent} %</progress>
    <p class="progress-message" role="status"><strong>${s.percent} %</strong> ${s.message}</p>
    ${offlineBadge(data.provider)}
    ${
      list(data.languages).length > 0
        ? html`<ul class="languages">${list(data.languages).map((code) => html`<li class="lang ${langState(code)}" data-lang="${code}">${languageName(code)}</li>`)}</ul>`
        : ""
    }
    ${
      // Streamed text is shown while the job runs; once it ends, the stored result below replaces it.
      text && !isTerminal(s)
        ? html`<div class="live-text" data-kind="${s.step === "writing" ? "streaming" : "final"}">${text}</div>`
        : ""
    }
    ${invocationLine(restateUiUrl, s.invocationId)}
  </div>`;
}

/** Replaces itself with the stored result once the job is done (sent over SSE with the terminal event). */
export function resultLoader(jobId: string): SafeHtml {
  return html`<div id="content-result" hx-get="/content/${jobId}" hx-select="#content-result" hx-target="this" hx-swap="outerHTML" hx-trigger="load" hx-push-url="false"></div>`;
}

// The estimate is fractional US cents (the price table's unit, kept to 1/10,000 of a cent), and a
// job costs a fraction of a cent, which whole cents would show as US$0.00: four decimals of a
// dollar, so 0.12 cents is US$0.0012.
const estimatedCost = (cents: number) => formatMoney(cents, "USD", { fractionDigits: 4 });

export function contentResult(job: ContentJobView | null): SafeHtml {
  if (!job || job.status !== "completed") return html`<div id="content-result"></div>`;
  return html`<section id="content-result" class="content-result">
    ${offlineBadge(job.provider)}
    <h2>Description</h2>
    <div class="copy" data-lang="en">${job.description ?? ""}</div>
    ${job.translations.map((t) => html`<h3>${languageName(t.language)}</h3><div class="copy" data-lang="${t.language}">${t.text}</div>`)}
    <dl class="usage">
      <dt>Written by</dt><dd>${providerLabel(job.provider, job.model)}</dd>
      <dt>Tokens</dt><dd>${job.inputTokens} in · ${job.outputTokens} out</dd>
      <dt>Estimated cost</dt><dd class="cost">${estimatedCost(job.estimatedCostCents)} <small>(estimate from the configured price table)</small></dd>
    </dl>
  </section>`;
}

export function contentPage(
  jobId: string,
  job: ContentJobView | null,
  snapshot: ProgressSnapshot,
  restateUiUrl: string | undefined,
  shareUrl?: string,
): Page {
  const panel = contentPanel(snapshot, restateUiUrl);
  const live = !isTerminal(snapshot);
  return {
    title: job ? `Copy: ${job.productName}` : "Product copy",
    body: html`<section class="content-job" data-job-id="${jobId}">
      <h1>${job ? job.productName : "Product copy"}</h1>
      ${job?.status === "failed" && job.statusReason ? html`<p class="form-error" role="alert">${job.statusReason}</p>` : ""}
      ${
        live
          ? html`<div class="live" hx-ext="sse" sse-connect="/content/${jobId}/events" sse-close="done">
            <div id="progress" sse-swap="progress" hx-swap="innerHTML" hx-target="this">${panel}</div>
            <div sse-swap="result" hx-swap="innerHTML" hx-target="this">${contentResult(job)}</div>
          </div>`
          : html`<div id="progress">${panel}</div>${contentResult(job)}`
      }
      ${shareLink(shareUrl, "job")}
      <p><a href="/content/new">Write more copy</a> · <a href="/content">Your jobs</a></p>
    </section>`,
  };
}
