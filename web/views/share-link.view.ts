/** A signed link to the page it is on, for opening it in another browser (see web/access-links.ts). */
import { html, type SafeHtml } from "../../shared/html.ts";

export function shareLink(url: string | undefined, what: string): SafeHtml | "" {
  if (!url) return "";
  return html`<details class="share-link">
    <summary>Open this ${what} in another browser</summary>
    <p class="hint">Anyone with this link can open this ${what} until it expires, as you can. Share it only with people you trust.</p>
    <input type="text" readonly value="${url}" aria-label="Link to this ${what}">
  </details>`;
}
