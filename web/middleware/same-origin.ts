/**
 * The second line beside the CSRF token: a state-changing request (anything but GET, HEAD,
 * OPTIONS) that a browser says came from another site is refused with 403 before its body is read.
 *
 * - `Sec-Fetch-Site` is set by the browser and cannot be forged by a page: `same-origin` and `none`
 *   (typed, bookmarked) pass; `cross-site` and `same-site` (a sibling subdomain is another origin)
 *   are refused.
 * - Browsers without it may still send `Origin`: it must name this host. `Origin: null` (sandboxed
 *   frames, some redirects) names no host and is refused.
 * - Neither header: not a browser, or a very old one (curl, scripts, health tools). They pass; the
 *   CSRF token still guards them.
 *
 * Paths in `allowPaths` (e.g. a mail client's one-click unsubscribe POST, which is cross-site by
 * design) skip the check and rely on their own signed tokens.
 */
import type { Middleware } from "koa";
import type { AppState } from "../app-state.ts";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export const CROSS_SITE_REFUSED = "This request came from another site and was refused. Go back to the shop and try again.";

/** Why a request with these headers must be refused, or undefined when it may go on. `host` is the app's host[:port]. */
export function crossSiteReason(
  headers: { secFetchSite?: string | undefined; origin?: string | undefined },
  host: string,
): string | undefined {
  const site = headers.secFetchSite?.trim().toLowerCase();
  if (site) return site === "same-origin" || site === "none" ? undefined : `Sec-Fetch-Site: ${site}`;
  const origin = headers.origin?.trim();
  if (!origin) return undefined;
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    return `Origin: ${origin.slice(0, 100)}`;
  }
  // Host only, like the Host header itself: a scheme mismatch behind a TLS-terminating proxy is normal.
  return originHost !== "" && originHost.toLowerCase() === host.toLowerCase() ? undefined : `Origin: ${origin.slice(0, 100)}`;
}

/** `allowPaths`: exact paths, or prefixes when they end in "/" (a route with parameters, e.g. "/unsubscribe/"). */
export function sameOriginWrites(opts: { allowPaths?: readonly string[] } = {}): Middleware<AppState> {
  const exact = new Set((opts.allowPaths ?? []).filter((p) => !p.endsWith("/")));
  const prefixes = (opts.allowPaths ?? []).filter((p) => p.endsWith("/"));
  const allowed = (path: string) => exact.has(path) || prefixes.some((p) => path.startsWith(p));
  return async (ctx, next) => {
    if (SAFE_METHODS.has(ctx.method) || allowed(ctx.path)) {
      await next();
      return;
    }
    // ctx.host honours X-Forwarded-Host only when the app trusts its proxy (prod).
    const reason = crossSiteReason({ secFetchSite: ctx.get("sec-fetch-site"), origin: ctx.get("origin") }, ctx.host);
    if (reason) {
      ctx.state.log.info({ reason, method: ctx.method, path: ctx.path }, "cross-site request refused");
      ctx.throw(403, CROSS_SITE_REFUSED);
    }
    await next();
  };
}
