/**
 * The page frame. Links and forms are boosted by htmx (it swaps the body of the full page it
 * receives); a non-boosted htmx request gets only `<title>` and `<main>`. No inline script or style.
 */
import type { Context } from "koa";
import { html, type SafeHtml } from "../../shared/html.ts";
import type { AppState } from "../app-state.ts";
import { assetUrl } from "../static-assets.ts";

// htmx options come from a meta tag (no inline script): no injected indicator <style> (CSP), no
// eval, and 4xx/5xx pages are swapped too so validation errors and 503 pages are shown. Settling
// copies an element's old attributes onto its same-id successor for a moment; copying a `style`
// attribute (the ops search field had gained an empty one) is an inline style the CSP blocks, so
// only class, width and height are settled.
const HTMX_CONFIG = JSON.stringify({
  includeIndicatorStyles: false,
  attributesToSettle: ["class", "width", "height"],
  allowEval: false,
  allowScriptTags: false,
  historyCacheSize: 0,
  responseHandling: [
    { code: "204", swap: false },
    { code: "[2345]..", swap: true },
  ],
});

export interface Page {
  title: string;
  body: SafeHtml;
}

export function isFragmentRequest(ctx: Context): boolean {
  return ctx.get("hx-request") === "true" && ctx.get("hx-boosted") !== "true" && ctx.get("hx-history-restore-request") !== "true";
}

/** The operator console's pages, in the header of every page the operator gate let an operator see. */
const OPERATOR_PAGES: ReadonlyArray<{ href: string; label: string }> = [
  { href: "/ops", label: "Approvals" },
  { href: "/ops#orders", label: "Orders" },
  { href: "/ops/stock", label: "Stock" },
  { href: "/ops/overview", label: "Overview" },
  { href: "/ops/decisions", label: "Decisions" },
];

// The gate (web/operators/operator-gate.ts) names the operator only on /ops paths, so a customer never sees this.
function operatorNav(ctx: Context): SafeHtml | "" {
  const operator = (ctx.state as Partial<AppState>).operator;
  if (!operator) return "";
  return html`<nav class="ops-nav" aria-label="Operations">${OPERATOR_PAGES.map(
    (p) => html`<a href="${p.href}" ${p.href === ctx.path ? html`aria-current="page"` : ""}>${p.label}</a>`,
  )}<span class="signed-in-as">${operator}</span></nav>`;
}

export function renderPage(ctx: Context, page: Page): string {
  ctx.vary("HX-Request");
  const main = html`<main id="main">${page.body}</main>`;
  if (isFragmentRequest(ctx)) return html`<title>${page.title} · Quayside</title>${main}`.value;
  return html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>${page.title} · Quayside</title>
    <meta name="htmx-config" content="${HTMX_CONFIG}">
    <link rel="icon" href="${assetUrl("favicon.svg")}" type="image/svg+xml">
    <link rel="stylesheet" href="${assetUrl("app.css")}">
    <script src="${assetUrl("htmx.min.js")}" defer></script>
    <script src="${assetUrl("htmx-sse.js")}" defer></script>
  </head>
  <body hx-boost="true">
    <header class="site-header">
      <a class="brand" href="/">Quayside</a>
      <nav aria-label="Shop"><a href="/">Catalog</a><a href="/orders/new">Place an order</a><a href="/orders">My orders</a><a href="/content/new">Product copy</a><a href="/emails/new">Email campaign</a></nav>
      ${operatorNav(ctx)}
    </header>
    ${main}
    <footer class="site-footer"><a href="/ops">Operations</a> · Durable orders on Restate · progress over SSE</footer>
  </body>
</html>`.value;
}
