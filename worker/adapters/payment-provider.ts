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

export interface Refund {
  providerRef: string;
  amountCents: number;
}

/** Capturing or releasing an authorisation: `chargeRef` is what `authorize` returned. */
export interface AuthorizationRequest {
  idempotencyKey: string;
  orderId: string;
  chargeRef: string;
  amountCents: number;
  currency: string;
}

export interface PaymentProvider {
  readonly name: string;
  charge(req: ChargeRequest): Promise<Charge>;
  /** Holds the amount on the card without taking it (a decline is a `PermanentError`, as for `charge`). */
  authorize(req: ChargeRequest): Promise<Charge>;
  /** Takes an authorised amount; capturing it again returns the same charge. */
  capture(req: AuthorizationRequest): Promise<Charge>;
  /** Releases an authorisation that was never captured; cancelling it again is harmless. */
  cancel(req: AuthorizationRequest): Promise<void>;
  refund(req: RefundRequest): Promise<Refund>;
}

/** A failure worth retrying: the provider did not answer, or answered 429/5xx. */
export class TransientPaymentError extends Error {
  override name = "TransientPaymentError";
}
