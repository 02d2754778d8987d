/**
 * What the order workflow needs from a payment provider. A Stripe-style provider is a drop-in:
 * `charge` = create + confirm a PaymentIntent and `refund` = create a Refund, each sent with our
 * key as its `Idempotency-Key` header; a card decline becomes `PermanentError`; timeouts, 429 and
 * 5xx stay ordinary errors, which Restate retries with backoff.
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

export interface PaymentProvider {
  readonly name: string;
  charge(req: ChargeRequest): Promise<Charge>;
  refund(req: RefundRequest): Promise<Refund>;
}

/** A failure worth retrying: the provider did not answer, or answered 429/5xx. */
export class TransientPaymentError extends Error {
  override name = "TransientPaymentError";
}
