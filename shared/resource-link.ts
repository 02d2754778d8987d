/**
 * Signed links to one resource (an order, a content job, a campaign), so a page can be opened in a
 * browser that did not create it: the link in an order email, or a share link. A token is
 * `<expiry>.<mac>`, the MAC an HMAC-SHA256 over (kind, id, expiry). Keys rotate as a list: the
 * first signs, every one verifies, so a new key is put first and an old one dropped only once the
 * links it signed have expired. Tokens are secrets: they belong in no log line, metric or Referer.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { ResourceKind } from "./progress-event.ts";
import type { UNSUBSCRIBE_KIND } from "./unsubscribe-link.ts";

/** A page (order, content job, campaign), or a campaign recipient's unsubscribe link. */
export type LinkKind = ResourceKind | typeof UNSUBSCRIBE_KIND;

/** The query parameter that carries a token on a resource's page URL. */
export const ACCESS_PARAM = "access";

const TOKEN = /^([0-9a-z]{1,11})\.([A-Za-z0-9_-]{43})$/;

export interface ResourceLinkOptions {
  /** Secret keys, newest first: the first signs, all verify. */
  keys: readonly string[];
  /** How long a new link stays valid. */
  ttlSeconds: number;
  /** The clock in milliseconds (tests move it). */
  now?: () => number;
}

export function createResourceLinks(opts: ResourceLinkOptions) {
  const [signingKey] = opts.keys;
  if (signingKey === undefined) throw new Error("resource links need at least one key");
  const now = opts.now ?? Date.now;
  // JSON keeps the three fields apart whatever characters an id holds.
  const mac = (key: string, kind: LinkKind, id: string, expires: number) =>
    createHmac("sha256", key)
      .update(JSON.stringify(["quayside-link/1", kind, id, expires]))
      .digest();

  /** A token for this resource, valid for `ttlSeconds` from now. */
  function sign(kind: LinkKind, id: string): string {
    const expires = Math.floor(now() / 1000) + opts.ttlSeconds;
    return `${expires.toString(36)}.${mac(signingKey!, kind, id, expires).toString("base64url")}`;
  }

  /** True only for an unexpired token some current key signed for exactly this kind and id. */
  function verify(kind: LinkKind, id: string, token: unknown): boolean {
    if (typeof token !== "string") return false;
    const m = TOKEN.exec(token);
    if (!m) return false;
    const expires = parseInt(m[1]!, 36);
    if (!Number.isSafeInteger(expires) || expires * 1000 <= now()) return false;
    const given = Buffer.from(m[2]!, "base64url");
    // One spelling per MAC: the last character's unused bits must be zero.
    if (given.length !== 32 || given.toString("base64url") !== m[2]) return false;
    let valid = false;
    // Every key is tried, so the time taken does not say which one matched.
    for (const key of opts.keys) valid = timingSafeEqual(given, mac(key, kind, id, expires)) || valid;
    return valid;
  }

  /** The page URL with a fresh token for the resource added as `?access=`. */
  function signUrl(url: string | URL, kind: LinkKind, id: string): string {
    const signed = new URL(url);
    signed.searchParams.set(ACCESS_PARAM, sign(kind, id));
    return signed.toString();
  }

  return { sign, verify, signUrl };
}
export type ResourceLinks = ReturnType<typeof createResourceLinks>;
