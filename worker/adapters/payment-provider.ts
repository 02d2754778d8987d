/**
 * What the order workflow needs from a payment provider. A Stripe-style provider fits behind it:
 * `charge` maps to a PaymentIntent created and confirmed with the same `Idempotency-Key` header,
 * declines become `PermanentError`, timeouts and 5xx stay ordinary (retried) errors.
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
  status: "succeeded";
}

export interface PaymentProvider {
  readonly name: string;
  charge(req: ChargeRequest): Promise<Charge>;
}
