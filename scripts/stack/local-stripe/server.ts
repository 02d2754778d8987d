/**
 * A local Stripe that speaks the real wire protocol (form-encoded requests, JSON answers, Bearer
 * secret key), so the official SDK and our adapters run unchanged against it: the tests' Stripe,
 * and the development stack's payment page (`npm run dev` pays through it, with no Stripe account).
 * It covers what Quayside calls:
 *   - PaymentIntents create (with `confirm`), confirm, capture, cancel and retrieve;
 *   - Refunds create, retrieve and list (succeeded at once, or pending until the test settles them),
 *     refunds and disputes made "in the dashboard" by the test, disputes listed by PaymentIntent;
 *   - Checkout Sessions create, retrieve (`expand[]=payment_intent`) and expire, with a hosted
 *     payment page at `/c/pay/:id` that works in a browser without JavaScript (test cards, a 3-D
 *     Secure challenge, SEPA Direct Debit settled later);
 *   - events, delivered to `webhookUrl` signed the way Stripe signs them (`Stripe-Signature`).
 * Stripe's idempotency rules hold for every POST:
 *   - the first request with a key that reaches the API stores its status and body; a retry with
 *     the same endpoint and parameters gets them back as they were (`Idempotent-Replayed: true`);
 *   - the same key with other parameters or on another endpoint is a 400 `idempotency_error`;
 *   - while a request with a key is still running, another one with it gets a 409.
 * API test cards: `pm_card_visa` and `pm_card_mastercard` succeed, `pm_card_chargeDeclined` is a
 * 402 `card_declined`, any other id is a 400 `resource_missing`. Tests queue faults per operation
 * (429 with Retry-After, 503, a slow answer, the connection dropped or the answer held back AFTER
 * the work was done and stored) and per event type for webhooks (duplicated, held, dropped, badly
 * signed, stale), and count what happened on this side: payment intents, captures, refunds.
 *
 * This file is the server, in order: its test controls, the API, the hosted page's handling,
 * events and webhooks. The wire shapes, test numbers and error answers are in wire.ts; the hosted
 * pages' HTML in pages.ts.
 */
import { createHmac, randomBytes } from "node:crypto";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { html } from "../../../shared/html.ts";
import { challengePage, closedPage, layout, payPageOf, respondPage, successUrl } from "./pages.ts";
import {
  type Answer,
  API_VERSION,
  AUTH_FAILED,
  CANCELABLE,
  CARD_3DS,
  CARD_DECLINED,
  CARD_SUCCEEDS,
  type CheckoutState,
  DECLINED,
  error,
  type FakeCheckoutSession,
  type FakeDispute,
  type FakeEvent,
  type FakePaymentIntent,
  type FakeRefund,
  type FakeStripeOptions,
  GOOD_CARDS,
  header,
  HOUR,
  IBAN_FAILS,
  IBAN_SUCCEEDS,
  invalid,
  INVALID_CARD,
  INVALID_IBAN,
  lineItemsOf,
  type LoggedRequest,
  metadataOf,
  missing,
  noop,
  noSuch,
  ok,
  type PageAnswer,
  type Signing,
  type Stored,
  type StripeFault,
  type StripeOperation,
  unexpected,
  type WebhookDelivery,
  type WebhookFault,
} from "./wire.ts";

export * from "./wire.ts";

export class FakeStripeServer {
  readonly secretKey: string;
  readonly paymentIntents = new Map<string, FakePaymentIntent>();
  readonly refunds = new Map<string, FakeRefund>();
  readonly checkoutSessions = new Map<string, FakeCheckoutSession>();
  readonly disputes = new Map<string, FakeDispute>();
  readonly requests: LoggedRequest[] = [];
  /** Every event, in the order it happened, delivered or not. */
  readonly events: FakeEvent[] = [];
  /** Every webhook delivery attempt. */
  readonly deliveries: WebhookDelivery[] = [];
  /** Funds taken: a PaymentIntent confirmed with automatic capture, or captured later. */
  captures: Array<{ paymentIntent: string; amount: number }> = [];
  webhookUrl: string | null;
  webhookSecret: string;
  webhookRetries: number;
  asyncSettleAfterMs: number | null;
  /** What a refund created through the API becomes when no per-call outcome is queued. */
  refundOutcome: "succeeded" | "pending" = "succeeded";
  private readonly refundOutcomes: Array<"succeeded" | "pending"> = [];
  private readonly checkout = new Map<string, CheckoutState>();
  private readonly idempotency = new Map<string, Stored>();
  private readonly inFlight = new Set<string>();
  private readonly faults: Record<StripeOperation, StripeFault[]> = {
    create: [],
    confirm: [],
    capture: [],
    cancel: [],
    refund: [],
    checkout: [],
    expire: [],
    retrieve_session: [],
    retrieve_intent: [],
    retrieve_refund: [],
    list_refunds: [],
    list_disputes: [],
  };
  private readonly webhookFaults: Array<{ type: string; fault: WebhookFault }> = [];
  private readonly webhookWork = new Set<Promise<unknown>>();
  private readonly outbound = new Set<http.ClientRequest>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** First attempts go out one at a time, so undisturbed events arrive in the order they happened. */
  private sendQueue: Promise<unknown> = Promise.resolve();
  private readonly server: http.Server;
  private readonly port: number;
  private clockOffsetSeconds = 0;
  private stopped = false;
  private seq = 0;
  url = "";

  constructor(options: string | FakeStripeOptions = {}) {
    const o = typeof options === "string" ? { secretKey: options } : options;
    this.secretKey = o.secretKey ?? "sk_test_fake_quayside";
    this.webhookUrl = o.webhookUrl ?? null;
    this.webhookSecret = o.webhookSecret ?? `whsec_${randomBytes(24).toString("hex")}`;
    this.webhookRetries = o.webhookRetries ?? 3;
    this.asyncSettleAfterMs = o.asyncSettleAfterMs ?? null;
    this.port = o.port ?? 0;
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch(() => res.destroy());
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(this.port, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    for (const r of this.outbound) r.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The next `times` requests for `operation` meet `fault`. */
  failNext(operation: StripeOperation, fault: StripeFault, times = 1): void {
    for (let i = 0; i < times; i++) this.faults[operation].push(fault);
  }

  /** The next `times` events of `type` ("*": of any type) that are delivered meet `fault`. */
  webhookFault(type: string, fault: WebhookFault, times = 1): void {
    for (let i = 0; i < times; i++) this.webhookFaults.push({ type, fault });
  }

  /** The next `times` refunds created through the API become `outcome`, whatever `refundOutcome` says. */
  queueRefundOutcome(outcome: "succeeded" | "pending", times = 1): void {
    for (let i = 0; i < times; i++) this.refundOutcomes.push(outcome);
  }

  /** True while a request with this idempotency key is being handled (held by a fault, say). */
  handling(idempotencyKey: string): boolean {
    return this.inFlight.has(idempotencyKey);
  }

  /** Moves this Stripe's clock (timestamps, session expiry) forward; webhook signatures keep real time. */
  advanceClock(seconds: number): void {
    this.clockOffsetSeconds += seconds;
  }

  /** What this Stripe did for one order (by `order_id` metadata or the session's `client_reference_id`). */
  ledgerOf(orderId: string) {
    const checkoutSessions = [...this.checkoutSessions.values()].filter(
      (s) => s.client_reference_id === orderId || s.metadata.order_id === orderId,
    );
    const fromSessions = new Set(checkoutSessions.map((s) => s.payment_intent));
    const intents = [...this.paymentIntents.values()].filter((pi) => pi.metadata.order_id === orderId || fromSessions.has(pi.id));
    const ids = new Set(intents.map((pi) => pi.id));
    return {
      paymentIntents: intents,
      charges: this.captures.filter((c) => ids.has(c.paymentIntent)),
      refunds: [...this.refunds.values()].filter((r) => ids.has(r.payment_intent)),
      checkoutSessions,
      disputes: [...this.disputes.values()].filter((d) => ids.has(d.payment_intent)),
    };
  }

  /** Expires an open session now, as its time running out would. False when it was not open. */
  expire(sessionId: string): boolean {
    const st = this.checkout.get(sessionId);
    if (st?.session.status !== "open") return false;
    this.expireSession(st);
    return true;
  }

  /** Expires every open session whose `expires_at` has passed; returns their ids. */
  expireDue(): string[] {
    const due = [...this.checkout.values()].filter((st) => st.session.status === "open" && this.isDue(st));
    for (const st of due) this.expireSession(st);
    return due.map((st) => st.session.id);
  }

  /**
   * The bank's answer to a SEPA debit still processing: by default what its test IBAN intends
   * (`AT61…` succeeds, `AT86…` fails).
   */
  settleAsync(sessionId: string, outcome?: "succeeded" | "failed"): void {
    const st = this.checkout.get(sessionId);
    const pi = st?.session.payment_intent ? this.paymentIntents.get(st.session.payment_intent) : undefined;
    if (!st || pi?.status !== "processing") throw new Error(`checkout session ${sessionId} has no debit waiting to settle`);
    const result = outcome ?? (st.iban === IBAN_FAILS ? "failed" : "succeeded");
    if (result === "succeeded") {
      pi.status = "succeeded";
      pi.amount_received = pi.amount;
      this.captures.push({ paymentIntent: pi.id, amount: pi.amount });
      st.session.payment_status = "paid";
      this.emit("checkout.session.async_payment_succeeded", st.session);
      return;
    }
    pi.status = "requires_payment_method";
    pi.last_payment_error = {
      type: "invalid_request_error",
      code: "payment_method_provider_decline",
      message: "The customer's bank declined the debit.",
    };
    this.emit("payment_intent.payment_failed", pi);
    this.emit("checkout.session.async_payment_failed", st.session);
  }

  /** A pending refund's outcome; emits `refund.updated` (and `charge.refunded` when it succeeded). */
  settleRefund(refundId: string, outcome: "succeeded" | "failed"): FakeRefund {
    const r = this.refunds.get(refundId);
    if (r?.status !== "pending") throw new Error(`refund ${refundId} is not pending`);
    r.status = outcome;
    if (outcome === "failed") r.failure_reason = "expired_or_canceled_card";
    this.emit("refund.updated", r);
    const pi = this.paymentIntents.get(r.payment_intent);
    if (outcome === "succeeded" && pi) this.emit("charge.refunded", this.chargeOf(pi));
    return r;
  }

  /** A refund made in Stripe's dashboard: no metadata, succeeded at once. */
  dashboardRefund(paymentIntentId: string, amount?: number): FakeRefund {
    const made = this.makeRefund(paymentIntentId, amount, {}, "succeeded");
    if ("refused" in made) throw new Error(`dashboard refund refused: ${JSON.stringify(made.refused.body)}`);
    return made.refund;
  }

  /** The customer's bank disputes the payment. */
  dispute(paymentIntentId: string): FakeDispute {
    const pi = this.paymentIntents.get(paymentIntentId);
    if (!pi?.latest_charge || pi.amount_received === 0)
      throw new Error(`payment intent ${paymentIntentId} has no charge to dispute`);
    const d: FakeDispute = {
      id: this.nextId("dp"),
      object: "dispute",
      amount: pi.amount_received,
      charge: pi.latest_charge,
      currency: pi.currency,
      payment_intent: pi.id,
      reason: "fraudulent",
      status: "needs_response",
      created: this.nowSeconds(),
      livemode: false,
    };
    this.disputes.set(d.id, d);
    this.emit("charge.dispute.created", d);
    return d;
  }

  /** A dispute's end: `won` keeps the money with the shop, `lost` returns it to the customer. */
  closeDispute(disputeId: string, outcome: "won" | "lost"): FakeDispute {
    const d = this.disputes.get(disputeId);
    if (!d) throw new Error(`no dispute ${disputeId}`);
    d.status = outcome;
    this.emit("charge.dispute.closed", d);
    return d;
  }

  /** Delivers one event again as it is (the dashboard's Resend); the endpoint's status, 0 if unreachable. */
  async resend(eventId: string): Promise<number> {
    const event = this.events.find((e) => e.id === eventId);
    if (!event) throw new Error(`no event ${eventId}`);
    const attempt = this.deliveries.filter((d) => d.eventId === eventId).length + 1;
    const work = this.post(JSON.stringify(event, null, 2), "valid");
    this.track(work);
    const status = await work;
    this.deliveries.push({
      eventId,
      type: event.type,
      attempt,
      status,
      outcome: ok(status) ? "delivered" : "failed",
      at: Date.now(),
    });
    return status;
  }

  /** Resolves once no webhook delivery (retries included) is under way; held events do not count until released. */
  async webhooksIdle(): Promise<void> {
    do {
      await new Promise((r) => setImmediate(r));
      await Promise.allSettled([...this.webhookWork]);
    } while (this.webhookWork.size > 0);
  }

  private nextId(prefix: string): string {
    this.seq += 1;
    return `${prefix}_fake${String(this.seq).padStart(8, "0")}`;
  }

  private nowSeconds(): number {
    return Math.floor(Date.now() / 1000) + this.clockOffsetSeconds;
  }

  // ---- the API --------------------------------------------------------------------------------

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
    const url = new URL(req.url ?? "/", "http://fake");
    if (url.pathname.startsWith("/c/")) return respondPage(res, this.page(req.method ?? "GET", url.pathname, body));
    const params = req.method === "GET" ? url.searchParams : body;
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

    // Stripe keeps idempotency keys for POST requests only.
    const key = req.method === "POST" ? header(req, "idempotency-key") : null;
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
    const match = (re: RegExp, operation: StripeOperation) => {
      const m = re.exec(path);
      return m ? { operation, id: decodeURIComponent(m[1] ?? "") } : null;
    };
    if (method === "GET")
      return (
        match(/^\/v1\/checkout\/sessions\/([^/]+)$/, "retrieve_session") ??
        match(/^\/v1\/payment_intents\/([^/]+)$/, "retrieve_intent") ??
        match(/^\/v1\/refunds\/([^/]+)$/, "retrieve_refund") ??
        (path === "/v1/refunds" ? { operation: "list_refunds" as const, id: "" } : null) ??
        (path === "/v1/disputes" ? { operation: "list_disputes" as const, id: "" } : null)
      );
    if (method !== "POST") return null;
    if (path === "/v1/payment_intents") return { operation: "create", id: "" };
    if (path === "/v1/refunds") return { operation: "refund", id: "" };
    if (path === "/v1/checkout/sessions") return { operation: "checkout", id: "" };
    const m = /^\/v1\/payment_intents\/([^/]+)\/(confirm|capture|cancel)$/.exec(path);
    if (m) return { operation: m[2] as StripeOperation, id: decodeURIComponent(m[1]!) };
    return match(/^\/v1\/checkout\/sessions\/([^/]+)\/expire$/, "expire");
  }

  private execute(operation: StripeOperation, id: string, p: URLSearchParams): Answer {
    switch (operation) {
      case "create":
        return this.create(p);
      case "refund":
        return this.refund(p);
      case "checkout":
        return this.createCheckout(p);
      case "retrieve_session":
      case "expire":
        return this.sessionOperation(operation, id, p);
      case "retrieve_refund": {
        const r = this.refunds.get(id);
        return r ? { status: 200, body: r } : noSuch("refund", id, "id");
      }
      case "list_refunds":
        return this.list("/v1/refunds", [...this.refunds.values()], p);
      case "list_disputes":
        return this.list("/v1/disputes", [...this.disputes.values()], p);
      default:
        return this.intentOperation(operation, id, p);
    }
  }

  /** A list filtered by `payment_intent` (the one filter this shop uses), newest first, one page. */
  private list(url: string, all: Array<{ payment_intent: string; created: number }>, p: URLSearchParams): Answer {
    const intent = p.get("payment_intent");
    const limit = Math.min(100, Math.max(1, Number(p.get("limit") ?? 10) || 10));
    const data = all.filter((o) => !intent || o.payment_intent === intent).reverse();
    return { status: 200, body: { object: "list", url, has_more: data.length > limit, data: data.slice(0, limit) } };
  }

  private intentOperation(operation: StripeOperation, id: string, p: URLSearchParams): Answer {
    const pi = this.paymentIntents.get(id);
    if (!pi) return noSuch("payment_intent", id, "intent");
    if (operation === "retrieve_intent") return { status: 200, body: pi };
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
    if (!/^[a-z]{3}$/.test(currency)) return missing("currency");
    const pi = this.newIntent(amount, currency, p.get("capture_method") ?? "automatic", metadataOf(p), ["card"]);
    pi.payment_method = p.get("payment_method");
    if (pi.payment_method) pi.status = "requires_confirmation";
    return p.get("confirm") === "true" ? this.confirm(pi) : { status: 200, body: pi };
  }

  private newIntent(
    amount: number,
    currency: string,
    captureMethod: string,
    metadata: Record<string, string>,
    types: string[],
  ): FakePaymentIntent {
    const pi: FakePaymentIntent = {
      id: this.nextId("pi"),
      object: "payment_intent",
      amount,
      amount_capturable: 0,
      amount_received: 0,
      currency,
      status: "requires_payment_method",
      capture_method: captureMethod,
      payment_method: null,
      payment_method_types: types,
      latest_charge: null,
      metadata,
      last_payment_error: null,
      created: this.nowSeconds(),
      livemode: false,
    };
    this.paymentIntents.set(pi.id, pi);
    return pi;
  }

  private confirm(pi: FakePaymentIntent): Answer {
    const pm = pi.payment_method ?? "";
    if (pm === "pm_card_chargeDeclined") {
      const decline = { type: "card_error", code: "card_declined", decline_code: "generic_decline", message: DECLINED };
      pi.status = "requires_payment_method";
      pi.last_payment_error = decline;
      return error(402, "card_error", "card_declined", decline.message, { decline_code: "generic_decline", payment_intent: pi });
    }
    if (!GOOD_CARDS.has(pm))
      return error(400, "invalid_request_error", "resource_missing", `No such PaymentMethod: '${pm}'`, {
        param: "payment_method",
      });
    this.authorise(pi);
    return { status: 200, body: pi };
  }

  /** A payment the card accepted: held for a manual capture, or taken at once. */
  private authorise(pi: FakePaymentIntent): void {
    pi.latest_charge ??= this.nextId("ch");
    pi.last_payment_error = null;
    if (pi.capture_method === "manual") {
      pi.status = "requires_capture";
      pi.amount_capturable = pi.amount;
    } else {
      pi.status = "succeeded";
      pi.amount_received = pi.amount;
      this.captures.push({ paymentIntent: pi.id, amount: pi.amount });
    }
  }

  private refund(p: URLSearchParams): Answer {
    const outcome = this.refundOutcomes.shift() ?? this.refundOutcome;
    const made = this.makeRefund(
      p.get("payment_intent") ?? "",
      p.get("amount") ? Number(p.get("amount")) : undefined,
      metadataOf(p),
      outcome,
    );
    return "refused" in made ? made.refused : { status: 200, body: made.refund };
  }

  private makeRefund(
    id: string,
    requested: number | undefined,
    metadata: Record<string, string>,
    status: "succeeded" | "pending",
  ): { refund: FakeRefund } | { refused: Answer } {
    const refused = (answer: Answer) => ({ refused: answer });
    const pi = this.paymentIntents.get(id);
    if (!pi) return refused(noSuch("payment_intent", id, "payment_intent"));
    if (pi.status !== "succeeded")
      return refused(
        error(
          400,
          "invalid_request_error",
          "charge_not_refundable",
          "This PaymentIntent does not have a successful charge to refund.",
        ),
      );
    const refunded = [...this.refunds.values()]
      .filter((r) => r.payment_intent === id && r.status !== "failed")
      .reduce((n, r) => n + r.amount, 0);
    const amount = requested ?? pi.amount_received - refunded;
    if (refunded >= pi.amount_received)
      return refused(
        error(400, "invalid_request_error", "charge_already_refunded", `Charge for ${id} has already been refunded.`),
      );
    if (!Number.isInteger(amount) || amount < 1 || amount > pi.amount_received - refunded)
      return refused(
        error(400, "invalid_request_error", "amount_too_large", "Refund amount is greater than the unrefunded amount."),
      );
    const r: FakeRefund = {
      id: this.nextId("re"),
      object: "refund",
      amount,
      charge: pi.latest_charge,
      currency: pi.currency,
      payment_intent: id,
      reason: null,
      status,
      metadata,
      created: this.nowSeconds(),
    };
    this.refunds.set(r.id, r);
    if (status === "succeeded") this.emit("charge.refunded", this.chargeOf(pi));
    return { refund: r };
  }

  /** The Charge behind a PaymentIntent, as `charge.*` events carry it. */
  private chargeOf(pi: FakePaymentIntent): Record<string, unknown> {
    const refunded = [...this.refunds.values()]
      .filter((r) => r.payment_intent === pi.id && r.status === "succeeded")
      .reduce((n, r) => n + r.amount, 0);
    return {
      id: pi.latest_charge,
      object: "charge",
      amount: pi.amount,
      amount_captured: pi.amount_received,
      amount_refunded: refunded,
      captured: pi.amount_received > 0,
      created: pi.created,
      currency: pi.currency,
      disputed: [...this.disputes.values()].some((d) => d.payment_intent === pi.id),
      livemode: false,
      metadata: pi.metadata,
      paid: true,
      payment_intent: pi.id,
      refunded: pi.amount_received > 0 && refunded >= pi.amount_received,
      status: "succeeded",
    };
  }

  // ---- Checkout Sessions ----------------------------------------------------------------------

  private createCheckout(p: URLSearchParams): Answer {
    const mode = p.get("mode");
    if (!mode) return missing("mode");
    if (mode !== "payment")
      return invalid("mode", `Invalid mode: this test Stripe only supports payment, not ${mode}.`, "parameter_invalid_string");
    const items = lineItemsOf(p);
    if (!Array.isArray(items)) return items;
    const currency = items[0]!.currency;
    if (items.some((i) => i.currency !== currency))
      return invalid("line_items", "All line items must be in the same currency.", "parameter_invalid_string");
    const now = this.nowSeconds();
    const expiresAt = p.get("expires_at") === null ? now + 24 * HOUR : Number(p.get("expires_at"));
    if (!Number.isInteger(expiresAt))
      return invalid("expires_at", `Invalid integer: ${p.get("expires_at")}`, "parameter_invalid_integer");
    if (expiresAt < now + HOUR / 2)
      return invalid("expires_at", "The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation.");
    if (expiresAt > now + 24 * HOUR)
      return invalid("expires_at", "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.");
    const capture = p.get("payment_intent_data[capture_method]") ?? "automatic";
    if (!["automatic", "automatic_async", "manual"].includes(capture))
      return invalid(
        "payment_intent_data[capture_method]",
        "Invalid payment_intent_data[capture_method]: must be one of automatic, automatic_async, or manual",
        "parameter_invalid_string",
      );
    for (const name of ["success_url", "cancel_url"]) {
      const v = p.get(name);
      if (v !== null && !/^https?:\/\/[^\s]+$/.test(v)) return invalid(name, "Not a valid URL", "url_invalid");
    }
    const email = p.get("customer_email");
    if (email !== null && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email))
      return invalid("customer_email", `Invalid email address: ${email}`, "email_invalid");
    const total = items.reduce((n, i) => n + i.unitAmount * i.quantity, 0);
    const captureMethod = capture === "manual" ? "manual" : "automatic";
    const id = this.nextId("cs_test");
    const session: FakeCheckoutSession = {
      id,
      object: "checkout.session",
      amount_subtotal: total,
      amount_total: total,
      cancel_url: p.get("cancel_url"),
      client_reference_id: p.get("client_reference_id"),
      created: now,
      currency,
      customer_details: null,
      customer_email: email,
      expires_at: expiresAt,
      livemode: false,
      metadata: metadataOf(p),
      mode: "payment",
      payment_intent: null,
      // SEPA Direct Debit takes euros and cannot hold funds for a later capture.
      payment_method_types: currency === "eur" && captureMethod === "automatic" ? ["card", "sepa_debit"] : ["card"],
      payment_status: "unpaid",
      status: "open",
      success_url: p.get("success_url"),
      url: `${this.url}/c/pay/${id}`,
    };
    this.checkout.set(id, {
      session,
      lineItems: items,
      captureMethod,
      intentMetadata: metadataOf(p, "payment_intent_data[metadata]"),
      iban: null,
    });
    this.checkoutSessions.set(id, session);
    return { status: 200, body: session };
  }

  private sessionOperation(operation: "retrieve_session" | "expire", id: string, p: URLSearchParams): Answer {
    const st = this.touch(id);
    if (!st) return noSuch("checkout.session", id, "session");
    if (operation === "expire") {
      if (st.session.status !== "open")
        return invalid(
          "",
          `Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of \`${st.session.status}\`.`,
        );
      this.expireSession(st);
      return { status: 200, body: st.session };
    }
    const expand = [...p.entries()].filter(([k]) => /^expand\[\d*\]$/.test(k)).map(([, v]) => v);
    const pi = st.session.payment_intent ? this.paymentIntents.get(st.session.payment_intent) : undefined;
    const body = expand.includes("payment_intent") && pi ? { ...st.session, payment_intent: pi } : st.session;
    return { status: 200, body };
  }

  /** A session is looked at: one whose time has run out expires now. */
  private touch(id: string): CheckoutState | undefined {
    const st = this.checkout.get(id);
    if (st?.session.status === "open" && this.isDue(st)) this.expireSession(st);
    return st;
  }

  private isDue(st: CheckoutState): boolean {
    return this.nowSeconds() >= st.session.expires_at;
  }

  private expireSession(st: CheckoutState): void {
    st.session.status = "expired";
    const pi = st.session.payment_intent ? this.paymentIntents.get(st.session.payment_intent) : undefined;
    if (pi && CANCELABLE.has(pi.status)) {
      pi.status = "canceled";
      pi.amount_capturable = 0;
    }
    this.emit("checkout.session.expired", st.session);
  }

  // ---- the hosted payment page ----------------------------------------------------------------

  private page(method: string, path: string, form: URLSearchParams): PageAnswer {
    const m = /^\/c\/(pay|3ds)\/([^/]+)$/.exec(path);
    const st = m ? this.touch(decodeURIComponent(m[2]!)) : undefined;
    if (!m || !st) return { status: 404, page: layout("Not found", html`<h1>This payment page does not exist</h1>`) };
    if (method !== "GET" && method !== "POST") return { status: 405, page: layout("Not allowed", html`<h1>Not allowed</h1>`) };
    if (st.session.status !== "open") return { status: method === "GET" ? 200 : 409, page: closedPage(st) };
    const payPage = { status: 303, location: `/c/pay/${encodeURIComponent(st.session.id)}` };
    const pi = st.session.payment_intent ? this.paymentIntents.get(st.session.payment_intent) : undefined;
    if (m[1] === "3ds") {
      if (pi?.status !== "requires_action") return payPage;
      if (method === "GET") return { status: 200, page: challengePage(st) };
      if (form.get("result") === "complete") return this.paid(st, pi);
      pi.status = "requires_payment_method";
      pi.last_payment_error = {
        type: "invalid_request_error",
        code: "payment_intent_authentication_failure",
        message: AUTH_FAILED,
      };
      this.emit("payment_intent.payment_failed", pi);
      return { status: 402, page: payPageOf(st, AUTH_FAILED) };
    }
    if (method === "GET") return { status: 200, page: payPageOf(st) };
    const iban = form.get("iban");
    return iban === null ? this.payByCard(st, form.get("card") ?? "") : this.payBySepa(st, iban);
  }

  private payByCard(st: CheckoutState, card: string): PageAnswer {
    const number = card.replace(/[\s-]/g, "");
    if (![CARD_SUCCEEDS, CARD_DECLINED, CARD_3DS].includes(number)) return { status: 400, page: payPageOf(st, INVALID_CARD) };
    const pi = this.attempt(st, "card");
    if (number === CARD_SUCCEEDS) return this.paid(st, pi);
    if (number === CARD_3DS) {
      pi.status = "requires_action";
      return { status: 303, location: `/c/3ds/${encodeURIComponent(st.session.id)}` };
    }
    pi.status = "requires_payment_method";
    pi.last_payment_error = { type: "card_error", code: "card_declined", decline_code: "generic_decline", message: DECLINED };
    this.emit("payment_intent.payment_failed", pi);
    return { status: 402, page: payPageOf(st, DECLINED) };
  }

  private payBySepa(st: CheckoutState, entered: string): PageAnswer {
    if (!st.session.payment_method_types.includes("sepa_debit"))
      return { status: 400, page: payPageOf(st, "SEPA Direct Debit is not available for this payment.") };
    const iban = entered.replace(/\s/g, "").toUpperCase();
    if (iban !== IBAN_SUCCEEDS && iban !== IBAN_FAILS) return { status: 400, page: payPageOf(st, INVALID_IBAN) };
    const pi = this.attempt(st, "sepa_debit");
    pi.status = "processing";
    pi.latest_charge ??= this.nextId("ch");
    pi.last_payment_error = null;
    st.iban = iban;
    this.complete(st, "unpaid");
    if (this.asyncSettleAfterMs !== null) {
      const t = setTimeout(() => {
        this.timers.delete(t);
        if (this.paymentIntents.get(pi.id)?.status === "processing") this.settleAsync(st.session.id);
      }, this.asyncSettleAfterMs);
      this.timers.add(t);
    }
    return this.toSuccess(st);
  }

  /** The PaymentIntent of this session's attempts: made at the first one, reused by the next. */
  private attempt(st: CheckoutState, method: "card" | "sepa_debit"): FakePaymentIntent {
    const current = st.session.payment_intent ? this.paymentIntents.get(st.session.payment_intent) : undefined;
    const pi =
      current ??
      this.newIntent(
        st.session.amount_total,
        st.session.currency,
        st.captureMethod,
        st.intentMetadata,
        st.session.payment_method_types,
      );
    pi.payment_method = this.nextId(method === "card" ? "pm_card" : "pm_sepa");
    st.session.payment_intent = pi.id;
    return pi;
  }

  private paid(st: CheckoutState, pi: FakePaymentIntent): PageAnswer {
    this.authorise(pi);
    // A manual capture has only held the funds: Stripe calls that unpaid until it is captured.
    this.complete(st, pi.status === "succeeded" ? "paid" : "unpaid");
    return this.toSuccess(st);
  }

  private complete(st: CheckoutState, paymentStatus: "paid" | "unpaid"): void {
    st.session.status = "complete";
    st.session.payment_status = paymentStatus;
    st.session.customer_details = { email: st.session.customer_email };
    this.emit("checkout.session.completed", st.session);
  }

  private toSuccess(st: CheckoutState): PageAnswer {
    const to = successUrl(st.session);
    return to ? { status: 303, location: to } : { status: 200, page: closedPage(st) };
  }

  // ---- events and webhooks --------------------------------------------------------------------

  private emit(type: string, object: object): FakeEvent {
    const event: FakeEvent = {
      id: this.nextId("evt"),
      object: "event",
      api_version: API_VERSION,
      created: this.nowSeconds(),
      data: { object: structuredClone(object) as Record<string, unknown> },
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type,
    };
    this.events.push(event);
    if (this.webhookUrl && !this.stopped) this.dispatch(event);
    return event;
  }

  private dispatch(event: FakeEvent): void {
    const i = this.webhookFaults.findIndex((f) => f.type === event.type || f.type === "*");
    const fault = i >= 0 ? this.webhookFaults.splice(i, 1)[0]!.fault : undefined;
    // Stripe sends the event pretty-printed: only the raw bytes verify, never a re-serialised copy.
    const body = JSON.stringify(event, null, 2);
    switch (fault?.kind) {
      case "drop":
        return;
      case "hold":
        void fault.until.then(noop, noop).then(() => {
          if (this.webhookUrl && !this.stopped) this.track(this.deliver(event, body, "valid"));
        });
        return;
      case "duplicate":
        for (let c = 0; c < fault.copies; c++) this.track(this.deliver(event, body, "valid"));
        return;
      default:
        this.track(this.deliver(event, body, fault?.kind ?? "valid"));
    }
  }

  private track(work: Promise<unknown>): void {
    this.webhookWork.add(work);
    void work.then(noop, noop).finally(() => this.webhookWork.delete(work));
  }

  private async deliver(event: FakeEvent, body: string, signing: Signing): Promise<void> {
    for (let attempt = 1; !this.stopped; attempt++) {
      const turn = attempt === 1 ? this.sendQueue.then(() => this.post(body, signing)) : this.post(body, signing);
      if (attempt === 1) this.sendQueue = turn;
      const status = await turn;
      const outcome = ok(status) ? "delivered" : attempt > this.webhookRetries ? "failed" : "retrying";
      this.deliveries.push({ eventId: event.id, type: event.type, attempt, status, outcome, at: Date.now() });
      if (outcome !== "retrying") return;
      await sleep(200 * attempt);
    }
  }

  /** One POST of an event to the endpoint; resolves with its status, 0 when there was no answer. */
  private post(body: string, signing: Signing): Promise<number> {
    const target = this.webhookUrl;
    if (!target || this.stopped) return Promise.resolve(0);
    const t = Math.floor(Date.now() / 1000) - (signing === "stale" ? 600 : 0);
    const secret = signing === "bad_signature" ? `${this.webhookSecret}_not` : this.webhookSecret;
    const signature = createHmac("sha256", secret).update(`${t}.${body}`, "utf8").digest("hex");
    const url = new URL(target);
    return new Promise((resolve) => {
      const req = (url.protocol === "https:" ? https : http).request(url, {
        method: "POST",
        agent: false,
        timeout: 10_000,
        headers: {
          "content-type": "application/json; charset=utf-8",
          "content-length": Buffer.byteLength(body),
          "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
          "cache-control": "no-cache",
          accept: "*/*; q=0.5, application/xml",
          "stripe-signature": `t=${t},v1=${signature}`,
        },
      });
      const done = (status: number) => {
        this.outbound.delete(req);
        resolve(status);
      };
      this.outbound.add(req);
      req.on("response", (res) => {
        res.resume();
        done(res.statusCode ?? 0);
      });
      req.on("timeout", () => req.destroy());
      req.on("error", () => done(0));
      req.on("close", () => done(0));
      req.end(body);
    });
  }
}

export async function startFakeStripe(options?: string | FakeStripeOptions): Promise<FakeStripeServer> {
  return new FakeStripeServer(options).start();
}
