/**
 * What the order workflow needs from a payment provider (Stripe: stripe-payments.ts; development
 * and tests: local-payments.ts). Every call carries an idempotency key, so a retried step gets the
 * first outcome back: `charge` takes the money at once; `authorize` only holds it, and the hold is
 * later captured (`capture`) or released (`cancel`); `refund` gives back a captured charge. A
 * decline or any other answer no retry can change is a `PermanentError`; timeouts, 429 and 5xx
 * stay ordinary errors, which Restate retries with backoff.
 */
export interface ChargeRequest {
  idempotencyKey: string;
  orderId: string;
  amountCents: number;
  currency: string;
  paymentMethod: string;
}

export interface Charge {
  providerRef: string;
  amountCents: number;
  currency: string;
}

export interface RefundRequest {
  idempotencyKey: string;
  orderId: string;
  chargeRef: string;
  amountCents: number;
  currency: string;
}

/**
 * A refund as the provider has it. Card refunds usually succeed at once; some stay `pending` for
 * days (the bank confirms them) and a few then fail (the card was closed): the order says "refund
 * pending" until the provider says which.
 */
export interface Refund {
  providerRef: string;
  amountCents: number;
  state: "pending" | "succeeded" | "failed";
  /** Why a failed refund failed, in the provider's words (`expired_or_canceled_card`). */
  failureReason?: string | undefined;
}

/** A chargeback: the customer's bank takes the payment back unless the shop wins the dispute. */
export interface Dispute {
  providerRef: string;
  amountCents: number;
  reason: string;
  state: "open" | "won" | "lost";
}

/** What happened to a payment after it was taken: every refund (ours or the dashboard's) and dispute. */
export interface AfterSale {
  refunds: Refund[];
  disputes: Dispute[];
}

/** Capturing or releasing an authorisation: `chargeRef` is what `authorize` returned. */
export interface AuthorizationRequest {
  idempotencyKey: string;
  orderId: string;
  chargeRef: string;
  amountCents: number;
  currency: string;
}

/**
 * Paying on the provider's own page (Stripe Checkout): the card never reaches us. The order is
 * paid once the customer finishes there; `check` is the authority on where the payment stands (a
 * webhook only says "look now").
 */
export interface CheckoutRequest {
  idempotencyKey: string;
  orderId: string;
  email: string;
  amountCents: number;
  currency: string;
  lines: ReadonlyArray<{ name: string; unitPriceCents: number; quantity: number }>;
  /** "manual": the card is only authorised (an order an operator may still reject). */
  capture: "automatic" | "manual";
  /** Where the provider sends the customer back after paying, and when they give up. */
  successUrl: string;
  cancelUrl: string;
  /** Epoch ms after which the page can no longer be paid (Stripe: 30 minutes to 24 hours ahead). */
  expiresAt: number;
}

export interface CheckoutSession {
  sessionId: string;
  url: string;
  expiresAt: number;
}

export type CheckoutState =
  /** Not paid (yet): the customer may still be on the page; `lastError` says why their last attempt failed. */
  | { state: "open"; lastError?: string | undefined }
  /** Paid by a method that settles later (a bank debit): the outcome arrives within days. */
  | { state: "processing"; paymentRef: string }
  | { state: "paid"; charge: Charge }
  /** Authorised only (manual capture): `capture` takes it, `cancel` releases it. */
  | { state: "authorized"; charge: Charge }
  /** A payment that was processing did not go through. */
  | { state: "failed"; reason: string }
  | { state: "expired" };

export interface HostedCheckout {
  open(req: CheckoutRequest): Promise<CheckoutSession>;
  check(sessionId: string): Promise<CheckoutState>;
  /** Ends an open page so it can no longer be paid, then says where the payment stands. */
  close(sessionId: string, idempotencyKey: string): Promise<CheckoutState>;
}

export interface PaymentProvider {
  readonly name: string;
  /** Present when the customer pays on the provider's page; otherwise the order is charged with `charge`/`authorize`. */
  readonly checkout?: HostedCheckout;
  charge(req: ChargeRequest): Promise<Charge>;
  /** Holds the amount on the card without taking it (a decline is a `PermanentError`, as for `charge`). */
  authorize(req: ChargeRequest): Promise<Charge>;
  /** Takes an authorised amount; capturing it again returns the same charge. */
  capture(req: AuthorizationRequest): Promise<Charge>;
  /** Releases an authorisation that was never captured; cancelling it again is harmless. */
  cancel(req: AuthorizationRequest): Promise<void>;
  refund(req: RefundRequest): Promise<Refund>;
  /** Refunds and disputes of a taken payment (`paymentRef`), wherever they were made. */
  afterSale(paymentRef: string): Promise<AfterSale>;
}

/** A failure worth retrying: the provider did not answer, or answered 429/5xx. */
export class TransientPaymentError extends Error {
  override name = "TransientPaymentError";
}
