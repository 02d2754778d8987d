/** The link from a page to its invocation in the Restate UI: one helper for every kind of page. */
import { html, type SafeHtml } from "../../shared/html.ts";

export function invocationUrl(restateUiUrl: string | undefined, invocationId: string | null): string | null {
  if (!restateUiUrl || !invocationId) return null;
  // Joined as text, so a UI served under a path prefix keeps it.
  return `${restateUiUrl.replace(/\/+$/, "")}/ui/invocations/${encodeURIComponent(invocationId)}`;
}

/** "Invocation <id> · open in the Restate UI" under a progress bar; nothing before there is an invocation. */
export function invocationLine(restateUiUrl: string | undefined, invocationId: string | null): SafeHtml | "" {
  if (!invocationId) return "";
  const link = invocationUrl(restateUiUrl, invocationId);
  return html`<p class="invocation">Invocation <code>${invocationId}</code>${link ? html` · <a href="${link}" target="_blank" rel="noopener" hx-boost="false">open in the Restate UI</a>` : ""}</p>`;
}
