/**
 * The local Stripe's wire: the objects it stores and answers with (the shapes of Stripe's own), the
 * faults a test can queue, Stripe's documented test numbers, and the helpers that parse a
 * form-encoded request and shape Stripe's error answers. See server.ts.
 */
import type http from "node:http";
import type { SafeHtml } from "../../../shared/html.ts";

export type StripeOperation =
  | "create"
  | "confirm"
  | "capture"
  | "cancel"
  | "refund"
  | "checkout"
  | "expire"
  | "retrieve_session"
  | "retrieve_intent"
  | "retrieve_refund"
  | "list_refunds"
  | "list_disputes";

export type StripeFault =
  /** 429 before the API does anything (nothing stored), with this Retry-After. */
  | { kind: "rate_limit"; retryAfterSeconds: number }
  /** 503 before the API does anything (nothing stored). */
  | { kind: "unavailable" }
  /**
   * The request is handled, but only after this long, or once `until` settles when given (a second
   * one with its key meanwhile gets 409).
   */
  | { kind: "slow"; delayMs: number; until?: Promise<unknown> }
  /** The work is done and its answer stored, then the connection is cut before the answer is sent. */
  | { kind: "drop_after" }
  /**
   * The work is done and its answer stored, then held this long (or until `until` settles, when
   * given) before it is sent: time to crash the caller.
   */
  | { kind: "hold_after"; delayMs: number; until?: Promise<unknown> };

/** What goes wrong with the delivery of one event (all of its attempts). */
export type WebhookFault =
  /** The same event (same id, same body) is delivered this many times. */
  | { kind: "duplicate"; copies: number }
  /** Delivered only once `until` settles: a late event, or one overtaken by later ones. */
  | { kind: "hold"; until: Promise<unknown> }
  /** Never delivered (it is still in `events`): a lost webhook. */
  | { kind: "drop" }
  /** Signed with a secret that is not the endpoint's. */
  | { kind: "bad_signature" }
  /** Signed with a timestamp ten minutes old, outside the SDK's tolerance. */
  | { kind: "stale" };

export interface FakeStripeOptions {
  secretKey?: string;
  /** Where events are POSTed; null (the default) only records them in `events`. */
  webhookUrl?: string | null;
  /** The endpoint's signing secret; a fresh `whsec_…` by default. */
  webhookSecret?: string;
  /** Further attempts after a delivery fails (non-2xx or no answer), 200 ms × attempt apart; 3 by default. */
  webhookRetries?: number;
  /** When set, a SEPA debit settles by itself this long after it is made, as its test IBAN intends. */
  asyncSettleAfterMs?: number;
  /** Port to listen on (127.0.0.1); any free one by default. */
  port?: number;
}

export interface FakePaymentIntent {
  id: string;
  object: "payment_intent";
  amount: number;
  amount_capturable: number;
  amount_received: number;
  currency: string;
  status: string;
  capture_method: string;
  payment_method: string | null;
  payment_method_types: string[];
  latest_charge: string | null;
  metadata: Record<string, string>;
  last_payment_error: Record<string, unknown> | null;
  created: number;
  livemode: false;
}

export interface FakeRefund {
  id: string;
  object: "refund";
  amount: number;
  charge: string | null;
  currency: string;
  payment_intent: string;
  reason: string | null;
  status: "pending" | "succeeded" | "failed";
  /** Only on a failed refund. */
  failure_reason?: string;
  metadata: Record<string, string>;
  created: number;
}

export interface FakeCheckoutSession {
  id: string;
  object: "checkout.session";
  amount_subtotal: number;
  amount_total: number;
  cancel_url: string | null;
  client_reference_id: string | null;
  created: number;
  currency: string;
  customer_details: { email: string | null } | null;
  customer_email: string | null;
  expires_at: number;
  livemode: false;
  metadata: Record<string, string>;
  mode: "payment";
  /** The PaymentIntent's id once the customer has tried to pay (the object when expanded). */
  payment_intent: string | null;
  payment_method_types: string[];
  payment_status: "paid" | "unpaid";
  status: "open" | "complete" | "expired";
  success_url: string | null;
  url: string;
}

export interface FakeDispute {
  id: string;
  object: "dispute";
  amount: number;
  charge: string;
  currency: string;
  payment_intent: string;
  reason: string;
  status: string;
  created: number;
  livemode: false;
}

export interface FakeEvent {
  id: string;
  object: "event";
  api_version: string;
  created: number;
  /** The object as it was when the event happened. */
  data: { object: Record<string, unknown> };
  livemode: false;
  pending_webhooks: number;
  request: { id: null; idempotency_key: null };
  type: string;
}

export interface WebhookDelivery {
  eventId: string;
  type: string;
  attempt: number;
  /** The endpoint's HTTP status; 0 when it could not be reached or did not answer. */
  status: number;
  /** What follows this attempt: done, another attempt, or none (given up). */
  outcome: "delivered" | "retrying" | "failed";
  at: number;
}

export interface LoggedRequest {
  operation: StripeOperation;
  idempotencyKey: string | null;
  status: number;
  replayed: boolean;
  at: number;
}

export interface Stored {
  endpoint: string;
  params: string;
  status: number;
  body: unknown;
}

export type Answer = { status: number; body: unknown; headers?: Record<string, string> };
export type PageAnswer = { status: number; page?: SafeHtml; location?: string };
export type Signing = "valid" | "bad_signature" | "stale";

export interface LineItem {
  name: string;
  unitAmount: number;
  quantity: number;
}

/** What the hosted page needs beyond the Session object itself. */
export interface CheckoutState {
  session: FakeCheckoutSession;
  lineItems: LineItem[];
  captureMethod: "automatic" | "manual";
  intentMetadata: Record<string, string>;
  /** The IBAN of a SEPA debit, which decides how it settles. */
  iban: string | null;
}

export const GOOD_CARDS = new Set(["pm_card_visa", "pm_card_mastercard"]);
export const CANCELABLE = new Set(["requires_payment_method", "requires_confirmation", "requires_action", "requires_capture"]);
export const API_VERSION = "2025-09-30.clover";
export const HOUR = 3600;

/** Stripe's documented test numbers, as a customer types them on the hosted page. */
export const CARD_SUCCEEDS = "4242424242424242";
export const CARD_DECLINED = "4000000000000002";
/** Asks for 3-D Secure on every payment. */
export const CARD_3DS = "4000002760003184";
/** A SEPA debit that processes, then succeeds. */
export const IBAN_SUCCEEDS = "AT611904300234573201";
/** A SEPA debit that processes, then fails. */
export const IBAN_FAILS = "AT861904300235473202";

export const DECLINED = "Your card was declined.";
export const AUTH_FAILED =
  "We are unable to authenticate your payment method. Please choose a different payment method and try again.";
export const INVALID_CARD = "Your card number is invalid.";
export const INVALID_IBAN = "Your IBAN is invalid.";

// ---- request parsing and errors ---------------------------------------------------------------

export function header(req: http.IncomingMessage, name: string): string | null {
  const v = req.headers[name];
  return typeof v === "string" ? v : null;
}

/** `prefix[key]=value` pairs as an object (Stripe's metadata encoding). */
export function metadataOf(p: URLSearchParams, prefix = "metadata"): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of p.entries()) {
    if (!k.startsWith(`${prefix}[`) || !k.endsWith("]")) continue;
    const key = k.slice(prefix.length + 1, -1);
    if (key && !key.includes("[") && !key.includes("]")) out[key] = v;
  }
  return out;
}

export function lineItemsOf(p: URLSearchParams): Array<LineItem & { currency: string }> | Answer {
  const items: Array<LineItem & { currency: string }> = [];
  for (let i = 0; [...p.keys()].some((k) => k.startsWith(`line_items[${i}]`)); i++) {
    const at = (path: string) => p.get(`line_items[${i}]${path}`);
    const param = (path: string) => `line_items[${i}]${path}`;
    const price = at("[price]");
    if (price !== null && at("[price_data][currency]") === null) return noSuch("price", price, param("[price]"));
    const currency = at("[price_data][currency]")?.toLowerCase();
    if (!currency) return missing(param("[price_data][currency]"));
    if (!/^[a-z]{3}$/.test(currency))
      return invalid(param("[price_data][currency]"), `Invalid currency: ${currency}.`, "parameter_invalid_string");
    if (at("[price_data][unit_amount]") === null) return missing(param("[price_data][unit_amount]"));
    const unit = Number(at("[price_data][unit_amount]"));
    if (!Number.isInteger(unit) || unit < 0)
      return invalid(param("[price_data][unit_amount]"), "Invalid non-negative integer", "parameter_invalid_integer");
    const name = at("[price_data][product_data][name]");
    if (!name) return missing(param("[price_data][product_data][name]"));
    if (at("[quantity]") === null) return missing(param("[quantity]"));
    const quantity = Number(at("[quantity]"));
    if (!Number.isInteger(quantity) || quantity < 1)
      return invalid(param("[quantity]"), "Invalid positive integer", "parameter_invalid_integer");
    items.push({ name, unitAmount: unit, quantity, currency });
  }
  return items.length > 0 ? items : missing("line_items");
}

export function error(status: number, type: string, code: string, message: string, extra: Record<string, unknown> = {}): Answer {
  return { status, body: { error: { type, ...(code ? { code } : {}), message, ...extra } } };
}

export function missing(param: string): Answer {
  return error(400, "invalid_request_error", "parameter_missing", `Missing required param: ${param}.`, { param });
}

export function invalid(param: string, message: string, code = ""): Answer {
  return error(400, "invalid_request_error", code, message, param ? { param } : {});
}

export function noSuch(kind: string, id: string, param: string): Answer {
  return error(404, "invalid_request_error", "resource_missing", `No such ${kind}: '${id}'`, { param });
}

export function unexpected(pi: FakePaymentIntent, verb: string): Answer {
  const message = `This PaymentIntent could not be ${verb} because it has a status of ${pi.status}.`;
  return error(400, "invalid_request_error", "payment_intent_unexpected_state", message, { payment_intent: pi });
}

export function ok(status: number): boolean {
  return status >= 200 && status < 300;
}

export function noop(): void {}
