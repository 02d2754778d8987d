/**
 * One-click unsubscribe links (RFC 8058) in campaign messages. A link names the campaign and a
 * hash of the recipient's address, never the address itself, and carries a signed token
 * (resource-link.ts, kind "unsubscribe") over both, so only the message's recipient can use it.
 * The suppression list stores the same hash: the worker hashes each recipient to check it.
 */
import { createHash } from "node:crypto";

/** The link kind the token is signed for (kept apart from the page kinds). */
export const UNSUBSCRIBE_KIND = "unsubscribe";

/** Hex SHA-256 of the address as mail servers compare it (case-insensitive). */
export function addressHash(address: string): string {
  return createHash("sha256").update(address.trim().toLowerCase()).digest("hex");
}

/** What the token is signed over: the campaign and the recipient. */
export function unsubscribeTokenId(campaignId: string, hash: string): string {
  return `${campaignId}:${hash}`;
}

/** The unsigned one-click URL on the web for this recipient of this campaign. */
export function unsubscribeUrl(publicWebUrl: string, campaignId: string, address: string): string {
  return new URL(`/unsubscribe/${encodeURIComponent(campaignId)}/${addressHash(address)}`, publicWebUrl).toString();
}

/** The pattern a valid address hash matches (the web checks path parameters with it). */
export const ADDRESS_HASH = /^[0-9a-f]{64}$/;
