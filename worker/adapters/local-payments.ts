/**
 * The local payment provider: a ledger in PostgreSQL with a unique idempotency key, so charging
 * twice with one key returns the first charge. Payment methods are Stripe-style test tokens.
 */
import { createHash } from "node:crypto";
import type pg from "pg";
import { paymentMethodSchema } from "../../shared/order.schema.ts";
import { PermanentError } from "../errors.ts";
import type { Charge, ChargeRequest, PaymentProvider } from "./payment-provider.ts";

function providerRef(prefix: string, key: string): string {
  return `${prefix}_${createHash("sha256").update(key).digest("hex").slice(0, 24)}`;
}

export function createLocalPaymentProvider(pool: pg.Pool): PaymentProvider {
  return {
    name: "local",
    async charge(req: ChargeRequest): Promise<Charge> {
      if (!paymentMethodSchema.safeParse(req.paymentMethod).success) {
        throw new PermanentError("unknown_payment_method", `Unknown payment method ${req.paymentMethod}`);
      }
      await pool.query(
        `INSERT INTO payments (idempotency_key, order_id, kind, amount_cents, currency, payment_method, status, provider_ref)
         VALUES ($1, $2, 'charge', $3, $4, $5, 'succeeded', $6)
         ON CONFLICT (idempotency_key) DO NOTHING`,
        [
          req.idempotencyKey,
          req.orderId,
          req.amountCents,
          req.currency,
          req.paymentMethod,
          providerRef("ch", req.idempotencyKey),
        ],
      );
      const r = await pool.query(`SELECT provider_ref, amount_cents, currency, status FROM payments WHERE idempotency_key = $1`, [
        req.idempotencyKey,
      ]);
      const row = r.rows[0];
      if (!row) throw new Error(`charge ${req.idempotencyKey} not found after insert`);
      if (row.amount_cents !== req.amountCents) {
        throw new PermanentError("idempotency_mismatch", "The idempotency key was used for a different amount");
      }
      return { providerRef: row.provider_ref, amountCents: row.amount_cents, currency: row.currency.trim(), status: "succeeded" };
    },
  };
}
