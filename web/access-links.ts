/**
 * Opening a signed link (`/orders/<id>?access=<token>`, from an email or a share link): a valid
 * token grants this browser session the resource (it shows up under "My orders" and its page,
 * stream and actions answer as for the session that created it), then 303 to the plain URL, so
 * the token does not stay in the address bar, the history, or the Referer of what the page loads.
 * A tampered, expired or other resource's token gets the same 404 as having no access at all;
 * a session that already has access is sent to the plain URL whatever the token.
 */
import type { RouterMiddleware } from "@koa/router";
import type { Context } from "koa";
import type { z } from "zod";
import type { ResourceKind } from "../shared/progress-event.ts";
import { ACCESS_PARAM, type ResourceLinks } from "../shared/resource-link.ts";
import type { OwnershipStore } from "./adapters/ownership.store.ts";
import type { AppState } from "./app-state.ts";

export interface AccessLinkOptions {
  links: ResourceLinks;
  ownership: OwnershipStore;
  kind: ResourceKind;
  /** Parses the route's `:id`. */
  idSchema: z.ZodType<string>;
  /** The resource's page without the token. */
  pathOf(id: string): string;
  /** The 404 message the page gives anyone without access. */
  notFound: string;
}

export function accessLinks(opts: AccessLinkOptions): RouterMiddleware<AppState> {
  return async (ctx, next) => {
    if (!Object.hasOwn(ctx.query, ACCESS_PARAM)) {
      await next();
      return;
    }
    ctx.set("Cache-Control", "no-store");
    ctx.set("Referrer-Policy", "no-referrer");
    const id = opts.idSchema.safeParse(ctx.params.id);
    if (!id.success) return ctx.throw(404, opts.notFound);
    const session = ctx.state.session.id;
    if (opts.links.verify(opts.kind, id.data, ctx.query[ACCESS_PARAM])) {
      await opts.ownership.grant(opts.kind, id.data, session);
      ctx.state.log.info({ kind: opts.kind, id: id.data }, "signed link opened");
    } else if (!(await opts.ownership.owns(opts.kind, id.data, session))) {
      return ctx.throw(404, opts.notFound);
    }
    ctx.status = 303;
    ctx.redirect(opts.pathOf(id.data));
  };
}

/**
 * A signed link to `path` on this site, to show on the page for sharing. The site's address comes
 * from the request (Koa's `ctx.origin` is the Origin header, which plain navigations do not send).
 */
export function shareUrl(ctx: Context, links: ResourceLinks, kind: ResourceKind, id: string, path: string): string {
  return links.signUrl(new URL(path, `${ctx.protocol}://${ctx.host}`), kind, id);
}
