/**
 * The operator's order list as a query string: `status`, `q` (an email address, or an order id or
 * its first characters, with or without dashes), and a keyset cursor (`<created_at in µs since
 * the epoch>.<order id>`): `after` for the orders older than the last row shown, or `before` for
 * those newer than the first. The cursor is exact: a timestamp in milliseconds would skip or
 * repeat orders placed in the same millisecond.
 */
import { z } from "zod";
import { orderStatusSchema, type OrderStatus } from "../shared/order.schema.ts";
import { ORDER_REFERENCE_LENGTH } from "../shared/order-reference.ts";

/** An id search is a range of ids; 12 hex digits may also be an order's short reference (its end). */
export type OrderSearch =
  { kind: "email"; email: string } | { kind: "id"; from: string; to: string; reference?: string | undefined };

export interface OrderListCursor {
  createdAtMicros: string;
  id: string;
}

export interface OrderListQuery {
  status?: OrderStatus | undefined;
  search?: OrderSearch | undefined;
  /** Older than this row (the next page). */
  after?: OrderListCursor | undefined;
  /** Newer than this row (the previous page). */
  before?: OrderListCursor | undefined;
}

/** What the filter form shows back: the values as typed. */
export interface OrderListValues {
  status: string;
  q: string;
}
export type OrderListErrors = Partial<Record<keyof OrderListValues, string>>;

const MIN_ID_PREFIX = 4;
const asUuid = (hex32: string) =>
  `${hex32.slice(0, 8)}-${hex32.slice(8, 12)}-${hex32.slice(12, 16)}-${hex32.slice(16, 20)}-${hex32.slice(20)}`;

/** An id prefix becomes the range of ids that start with it: one range read of the primary key. */
function idRange(hex: string): Extract<OrderSearch, { kind: "id" }> {
  return { kind: "id", from: asUuid(hex.padEnd(32, "0")), to: asUuid(hex.padEnd(32, "f")) };
}

/**
 * Every refused search gets the same sentence: what the box takes. A part of an address is not
 * among it: an email is found by the index on the whole lower-cased address, and a partial match
 * would read every order (the list must stay fast at 100,000 orders).
 */
export const ACCEPTED = `Search for a customer's whole email address (name@example.com) or the start of an order id (at least ${MIN_ID_PREFIX} of its characters: 0-9, a-f and dashes). Part of an email address is not searched.`;

const statusField = z.union([z.literal("").transform(() => undefined), orderStatusSchema], {
  error: "Choose one of the listed statuses",
});

const searchField = z
  .string()
  .trim()
  .max(254, "Search for at most 254 characters")
  .transform((q, ctx): OrderSearch | undefined => {
    if (q === "") return undefined;
    if (q.includes("@")) {
      if (!z.email().safeParse(q).success) {
        ctx.addIssue({ code: "custom", message: ACCEPTED });
        return z.NEVER;
      }
      return { kind: "email", email: q.toLowerCase() };
    }
    const hex = q.toLowerCase().replaceAll("-", "");
    if (!/^[0-9a-f]+$/.test(hex) || hex.length > 32) {
      ctx.addIssue({ code: "custom", message: ACCEPTED });
      return z.NEVER;
    }
    if (hex.length < MIN_ID_PREFIX) {
      ctx.addIssue({ code: "custom", message: ACCEPTED });
      return z.NEVER;
    }
    return hex.length === ORDER_REFERENCE_LENGTH ? { ...idRange(hex), reference: hex } : idRange(hex);
  });

const CURSOR = /^(\d{1,17})\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

export function encodeCursor(c: OrderListCursor): string {
  return `${c.createdAtMicros}.${c.id}`;
}

export type ParsedOrderListQuery =
  | { ok: true; query: OrderListQuery; values: OrderListValues }
  | { ok: false; values: OrderListValues; errors: OrderListErrors }
  | { ok: false; values: OrderListValues; badCursor: string };

/** Reads the list's query string; a repeated parameter counts as malformed. */
export function parseOrderListQuery(raw: Record<string, string | string[] | undefined>): ParsedOrderListQuery {
  const one = (k: string) => (Array.isArray(raw[k]) ? null : (raw[k] ?? ""));
  const status = one("status");
  const q = one("q");
  const after = one("after");
  const before = one("before");
  const values: OrderListValues = { status: status ?? "", q: q ?? "" };
  const errors: OrderListErrors = {};
  const s = statusField.safeParse(status);
  if (!s.success) errors.status = "Choose one of the listed statuses";
  const search = q === null ? null : searchField.safeParse(q);
  if (!search?.success) errors.q = search?.error.issues[0]?.message ?? "Search for one thing at a time";
  if (!s.success || !search?.success) return { ok: false, values, errors };
  const badCursor = "That page link is not valid: start again from the first page.";
  const cursorOf = (raw: string | null): OrderListCursor | undefined | null => {
    if (raw === "") return undefined;
    const m = raw === null ? null : CURSOR.exec(raw);
    return m ? { createdAtMicros: m[1]!, id: m[2]! } : null;
  };
  const [older, newer] = [cursorOf(after), cursorOf(before)];
  if (older === null || newer === null || (older && newer)) return { ok: false, values, badCursor };
  return { ok: true, values, query: { status: s.data, search: search.data, after: older, before: newer } };
}
