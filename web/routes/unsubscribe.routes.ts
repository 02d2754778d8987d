/**
 * One-click unsubscribe (RFC 8058) from campaign messages: `POST /unsubscribe/:campaignId/:hash`
 * with the signed token as `?access=`. Mail clients post it without a session or a CSRF token,
 * so the token is the authentication: it was signed for exactly this campaign and address hash.
 * A wrong or expired token gets the same 404 as an unknown link. `GET` (a person following the
 * footer link) shows a button that posts the same URL: a link preview or a scanner must not
 * unsubscribe anyone by fetching it.
 */
import Router, { type RouterContext } from "@koa/router";
import { html } from "../../shared/html.ts";
import { ACCESS_PARAM, type ResourceLinks } from "../../shared/resource-link.ts";
import { ADDRESS_HASH, UNSUBSCRIBE_KIND, unsubscribeTokenId } from "../../shared/unsubscribe-link.ts";
import type { SuppressionsRepo } from "../adapters/suppressions.repo.ts";
import type { AppState } from "../app-state.ts";
import { renderPage } from "../views/layout.view.ts";

export interface UnsubscribeRouteDeps {
  links: Pick<ResourceLinks, "verify">;
  suppressions: SuppressionsRepo;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function unsubscribeRoutes(deps: UnsubscribeRouteDeps) {
  const router = new Router<AppState>();

  /** The campaign and address hash of a link whose token is valid; otherwise a 404. */
  const checked = (ctx: RouterContext<AppState>) => {
    const campaignId = String(ctx.params.campaignId ?? "");
    const hash = String(ctx.params.hash ?? "");
    const token = ctx.query[ACCESS_PARAM];
    const valid =
      UUID.test(campaignId) &&
      ADDRESS_HASH.test(hash) &&
      deps.links.verify(UNSUBSCRIBE_KIND, unsubscribeTokenId(campaignId, hash), token);
    if (!valid) ctx.throw(404, "This unsubscribe link is not valid (it may have expired).");
    return { campaignId, hash };
  };

  router.get("/unsubscribe/:campaignId/:hash", (ctx) => {
    checked(ctx);
    ctx.set("Referrer-Policy", "no-referrer");
    ctx.type = "html";
    ctx.body = renderPage(ctx, {
      title: "Unsubscribe",
      body: html`<section class="unsubscribe">
        <h1>Unsubscribe</h1>
        <p>Stop receiving campaign emails from Quayside at this address? Order emails still arrive.</p>
        <form method="post" action="${ctx.originalUrl}">
          <button type="submit">Unsubscribe</button>
        </form>
      </section>`,
    });
  });

  // The body ("List-Unsubscribe=One-Click", form or multipart) says nothing the URL does not: unread.
  router.post("/unsubscribe/:campaignId/:hash", async (ctx) => {
    const { campaignId, hash } = checked(ctx);
    await deps.suppressions.suppress(hash, campaignId);
    ctx.set("Referrer-Policy", "no-referrer");
    ctx.type = "html";
    ctx.body = renderPage(ctx, {
      title: "Unsubscribed",
      body: html`<section class="unsubscribe" role="status">
        <h1>Unsubscribed</h1>
        <p>This address will get no more campaign emails from Quayside.</p>
      </section>`,
    });
  });

  return router;
}
