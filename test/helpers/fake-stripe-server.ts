/**
 * A local Stripe that speaks the real wire protocol (form-encoded requests, JSON answers, Bearer
 * secret key), so the official SDK and our adapter run unchanged against it. It covers what
 * Quayside calls: PaymentIntents create (with `confirm`), confirm, capture and cancel, and Refunds
 * create, with Stripe's idempotency rules:
 *   - the first request with a key that reaches the API stores its status and body; a retry with
 *     the same endpoint and parameters gets them back as they were (`Idempotent-Replayed: true`);
 *   - the same key with other parameters or on another endpoint is a 400 `idempotency_error`;
 *   - while a request with a key is still running, another one with it gets a 409.
 * Test cards: `pm_card_visa` and `pm_card_mastercard` succeed, `pm_card_chargeDeclined` is a 402
 * `card_declined`, any other id is a 400 `resource_missing`. Tests queue faults per operation
 * (429 with Retry-After, 503, a slow answer, the connection dropped or the answer held back AFTER
 * the work was done and stored) and count what happened on this side: payment intents, captures,
 * refunds.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

export type StripeOperation = "create" | "confirm" | "capture" | "cancel" | "refund";

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
  metadata: Record<string, string>;
  last_payment_error: Record<string, unknown> | null;
  created: number;
  livemode: false;
}

export interface FakeRefund {
  id: string;
  object: "refund";
  amount: number;
  currency: string;
  payment_intent: string;
  status: "succeeded";
  metadata: Record<string, string>;
  created: number;
}

export interface LoggedRequest {
  operation: StripeOperation;
  idempotencyKey: string | null;
  status: number;
  replayed: boolean;
  at: number;
}

interface Stored {
  endpoint: string;
  params: string;
  status: number;
  body: unknown;
}

type Answer = { status: number; body: unknown; headers?: Record<string, string> };

const GOOD_CARDS = new Set(["pm_card_visa", "pm_card_mastercard"]);
const CANCELABLE = new Set(["requires_payment_method", "requires_confirmation", "requires_action", "requires_capture"]);

export class FakeStripeServer {
  readonly secretKey: string;
  readonly paymentIntents = new Map<string, FakePaymentIntent>();
  readonly refunds = new Map<string, FakeRefund>();
  readonly requests: LoggedRequest[] = [];
  /** Funds taken: a PaymentIntent confirmed with automatic capture, or captured later. */
  captures: Array<{ paymentIntent: string; amount: number }> = [];
  private readonly idempotency = new Map<string, Stored>();
  private readonly inFlight = new Set<string>();
  private readonly faults: Record<StripeOperation, StripeFault[]> = {
    create: [],
    confirm: [],
    capture: [],
    cancel: [],
    refund: [],
  };
  private readonly server: http.Server;
  private seq = 0;
  url = "";

  constructor(secretKey = "sk_test_fake_quayside") {
    this.secretKey = secretKey;
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch(() => res.destroy());
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The next `times` requests for `operation` meet `fault`. */
  failNext(operation: StripeOperation, fault: StripeFault, times = 1): void {
    for (let i = 0; i < times; i++) this.faults[operation].push(fault);
  }

  /** True while a request with this idempotency key is being handled (held by a fault, say). */
  handling(idempotencyKey: string): boolean {
    return this.inFlight.has(idempotencyKey);
  }

  /** What this Stripe did for one order (by the `order_id` metadata Quayside sends). */
  ledgerOf(orderId: string) {
    const intents = [...this.paymentIntents.values()].filter((pi) => pi.metadata.order_id === orderId);
    const ids = new Set(intents.map((pi) => pi.id));
    return {
      paymentIntents: intents,
      charges: this.captures.filter((c) => ids.has(c.paymentIntent)),
      refunds: [...this.refunds.values()].filter((r) => ids.has(r.payment_intent)),
    };
  }

  private nextId(prefix: string): string {
    this.seq += 1;
    return `${prefix}_fake${String(this.seq).padStart(8, "0")}`;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const params = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
    const url = new URL(req.url ?? "/", "http://fake");
    const route = this.route(req.method ?? "GET", url.pathname);
    const send = (a: Answer, replayed = false) => {
      const key = header(req, "idempotency-key");
      if (route)
        this.requests.push({ operation: route.operation, idempotencyKey: key, status: a.status, replayed, at: Date.now() });
      res.writeHead(a.status, {
        "content-type": "application/json",
        "request-id": `req_${this.seq}_${Date.now()}`,
        ...(replayed ? { "idempotent-replayed": "true" } : {}),
        ...a.headers,
      });
      res.end(JSON.stringify(a.body));
    };

    if (header(req, "authorization") !== `Bearer ${this.secretKey}`)
      return send(error(401, "invalid_request_error", "api_key_invalid", "Invalid API Key provided."));
    if (!route)
      return send(error(404, "invalid_request_error", "resource_missing", `Unrecognized request URL (${url.pathname}).`));

    const fault = this.faults[route.operation].shift();
    if (fault?.kind === "rate_limit") {
      return send({
        ...error(429, "invalid_request_error", "rate_limit", "Too many requests hit the API too quickly."),
        headers: { "retry-after": String(fault.retryAfterSeconds) },
      });
    }
    if (fault?.kind === "unavailable") return send(error(503, "api_error", "", "Stripe is temporarily unavailable."));

    const key = header(req, "idempotency-key");
    const endpoint = `${req.method} ${url.pathname}`;
    const canonical = [...params.entries()]
      .map(([k, v]) => `${k}=${v}`)
      .sort()
      .join("&");
    if (key) {
      const stored = this.idempotency.get(key);
      if (stored && (stored.endpoint !== endpoint || stored.params !== canonical)) {
        const message =
          stored.endpoint !== endpoint
            ? `Keys for idempotent requests can only be used for the same endpoint they were first used for ('${stored.endpoint}').`
            : `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`;
        return send(error(400, "idempotency_error", "", message));
      }
      if (stored) {
        if (fault?.kind === "drop_after") return this.drop(req, route.operation, key);
        return send({ status: stored.status, body: stored.body }, true);
      }
      if (this.inFlight.has(key)) {
        const message = `There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): ${key}. Please try again later.`;
        return send(error(409, "idempotency_error", "idempotency_key_in_use", message));
      }
      this.inFlight.add(key);
    }
    try {
      if (fault?.kind === "slow") await (fault.until ?? sleep(fault.delayMs));
      const answer = this.execute(route.operation, route.id, params);
      // A replay answers what the first request answered, not the object as it is now.
      if (key)
        this.idempotency.set(key, { endpoint, params: canonical, status: answer.status, body: structuredClone(answer.body) });
      if (fault?.kind === "drop_after") return this.drop(req, route.operation, key);
      if (fault?.kind === "hold_after") await (fault.until ?? sleep(fault.delayMs));
      if (!res.destroyed) send(answer);
    } finally {
      if (key) this.inFlight.delete(key);
    }
  }

  /** The connection is cut without an answer (logged with status 0). */
  private drop(req: http.IncomingMessage, operation: StripeOperation, key: string | null): void {
    this.requests.push({ operation, idempotencyKey: key, status: 0, replayed: false, at: Date.now() });
    req.socket.destroy();
  }

  private route(method: string, path: string): { operation: StripeOperation; id: string } | null {
    if (method !== "POST") return null;
    if (path === "/v1/payment_intents") return { operation: "create", id: "" };
    if (path === "/v1/refunds") return { operation: "refund", id: "" };
    const m = /^\/v1\/payment_intents\/([^/]+)\/(confirm|capture|cancel)$/.exec(path);
    return m ? { operation: m[2] as StripeOperation, id: decodeURIComponent(m[1]!) } : null;
  }

  private execute(operation: StripeOperation, id: string, p: URLSearchParams): Answer {
    if (operation === "create") return this.create(p);
    if (operation === "refund") return this.refund(p);
    const pi = this.paymentIntents.get(id);
    if (!pi)
      return error(404, "invalid_request_error", "resource_missing", `No such payment_intent: '${id}'`, { param: "intent" });
    if (operation === "confirm") {
      if (p.get("payment_method")) pi.payment_method = p.get("payment_method");
      if (pi.status !== "requires_confirmation" && pi.status !== "requires_payment_method") return unexpected(pi, "confirmed");
      return this.confirm(pi);
    }
    if (operation === "capture") {
      if (pi.status !== "requires_capture") return unexpected(pi, "captured");
      pi.status = "succeeded";
      pi.amount_received = pi.amount_capturable;
      pi.amount_capturable = 0;
      this.captures.push({ paymentIntent: pi.id, amount: pi.amount_received });
      return { status: 200, body: pi };
    }
    if (!CANCELABLE.has(pi.status)) return unexpected(pi, "canceled");
    pi.status = "canceled";
    pi.amount_capturable = 0;
    return { status: 200, body: pi };
  }

  private create(p: URLSearchParams): Answer {
    const amount = Number(p.get("amount"));
    const currency = p.get("currency") ?? "";
    if (!Number.isInteger(amount) || amount < 1)
      return error(400, "invalid_request_error", "parameter_invalid_integer", "Invalid integer: amount", { param: "amount" });
    if (!/^[a-z]{3}$/.test(currency))
      return error(400, "invalid_request_error", "parameter_missing", "Missing required param: currency.", { param: "currency" });
    const pi: FakePaymentIntent = {
      id: this.nextId("pi"),
      object: "payment_intent",
      amount,
      amount_capturable: 0,
      amount_received: 0,
      currency,
      status: p.get("payment_method") ? "requires_confirmation" : "requires_payment_method",
      capture_method: p.get("capture_method") ?? "automatic",
      payment_method: p.get("payment_method"),
      metadata: metadataOf(p),
      last_payment_error: null,
      created: Math.floor(Date.now() / 1000),
      livemode: false,
    };
    this.paymentIntents.set(pi.id, pi);
    return p.get("confirm") === "true" ? this.confirm(pi) : { status: 200, body: pi };
  }

  private confirm(pi: FakePaymentIntent): Answer {
    const pm = pi.payment_method ?? "";
    if (pm === "pm_card_chargeDeclined") {
      const decline = {
        type: "card_error",
        code: "card_declined",
        decline_code: "generic_decline",
        message: "Your card was declined.",
      };
      pi.status = "requires_payment_method";
      pi.last_payment_error = decline;
      return error(402, "card_error", "card_declined", decline.message, { decline_code: "generic_decline", payment_intent: pi });
    }
    if (!GOOD_CARDS.has(pm))
      return error(400, "invalid_request_error", "resource_missing", `No such PaymentMethod: '${pm}'`, {
        param: "payment_method",
      });
    if (pi.capture_method === "manual") {
      pi.status = "requires_capture";
      pi.amount_capturable = pi.amount;
    } else {
      pi.status = "succeeded";
      pi.amount_received = pi.amount;
      this.captures.push({ paymentIntent: pi.id, amount: pi.amount });
    }
    return { status: 200, body: pi };
  }

  private refund(p: URLSearchParams): Answer {
    const id = p.get("payment_intent") ?? "";
    const pi = this.paymentIntents.get(id);
    if (!pi) return error(404, "invalid_request_error", "resource_missing", `No such payment_intent: '${id}'`);
    if (pi.status !== "succeeded")
      return error(
        400,
        "invalid_request_error",
        "charge_not_refundable",
        "This PaymentIntent does not have a successful charge to refund.",
      );
    const refunded = [...this.refunds.values()].filter((r) => r.payment_intent === id).reduce((n, r) => n + r.amount, 0);
    const amount = p.get("amount") ? Number(p.get("amount")) : pi.amount_received - refunded;
    if (refunded >= pi.amount_received)
      return error(400, "invalid_request_error", "charge_already_refunded", `Charge for ${id} has already been refunded.`);
    if (!Number.isInteger(amount) || amount < 1 || amount > pi.amount_received - refunded)
      return error(400, "invalid_request_error", "amount_too_large", "Refund amount is greater than the unrefunded amount.");
    const r: FakeRefund = {
      id: this.nextId("re"),
      object: "refund",
      amount,
      currency: pi.currency,
      payment_intent: id,
      status: "succeeded",
      metadata: metadataOf(p),
      created: Math.floor(Date.now() / 1000),
    };
    this.refunds.set(r.id, r);
    return { status: 200, body: r };
  }
}

function header(req: http.IncomingMessage, name: string): string | null {
  const v = req.headers[name];
  return typeof v === "string" ? v : null;
}

function metadataOf(p: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of p.entries()) {
    const m = /^metadata\[([^\]]+)\]$/.exec(k);
    if (m) out[m[1]!] = v;
  }
  return out;
}

function error(status: number, type: string, code: string, message: string, extra: Record<string, unknown> = {}): Answer {
  return { status, body: { error: { type, ...(code ? { code } : {}), message, ...extra } } };
}

function unexpected(pi: FakePaymentIntent, verb: string): Answer {
  const message = `This PaymentIntent could not be ${verb} because it has a status of ${pi.status}.`;
  return error(400, "invalid_request_error", "payment_intent_unexpected_state", message, { payment_intent: pi });
}

export async function startFakeStripe(secretKey?: string): Promise<FakeStripeServer> {
  return new FakeStripeServer(secretKey).start();
}
