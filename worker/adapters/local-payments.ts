/**
 * The local payment provider: a ledger in PostgreSQL with a unique idempotency key, so charging
 * twice with one key returns the first outcome (including a decline). An authorisation is a charge
 * row in status `authorized`: capture turns it into `succeeded`, cancel into `canceled`, each
 * idempotent by the row's state, the way a PaymentIntent moves. For development and tests only:
 * the production profile refuses it (PAYMENT_PROVIDER=stripe). Payment methods are
 * Stripe-style test tokens; `pm_card_flaky` fails twice with a simulated provider error before it
 * succeeds. Latency and random transient faults can be injected by config.
 */
import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type pg from "pg";
import { paymentMethodSchema } from "../../shared/order.schema.ts";
import { PermanentError } from "../errors.ts";
import {
  TransientPaymentError,
  type AfterSale,
  type AuthorizationRequest,
  type Charge,
  type ChargeRequest,
  type PaymentProvider,
  type Refund,
  type RefundRequest,
} from "./payment-provider.ts";

export interface LocalPaymentOptions {
  latencyMs: number;
  /** Probability (0–1) that a call fails with a simulated provider 503 before doing anything. */
  faultRate: number;
}

const FLAKY_FAILURES = 2;

function providerRef(prefix: string, key: string): string {
  return `${prefix}_${createHash("sha256").update(key).digest("hex").slice(0, 24)}`;
}

/** The columns of a `payments` row this provider reads back (currency is char(3), space-padded). */
interface PaymentRow {
  provider_ref: string;
  amount_cents: number;
  currency: string;
  status: string;
}

export function createLocalPaymentProvider(
  pool: pg.Pool,
  opts: LocalPaymentOptions = { latencyMs: 0, faultRate: 0 },
): PaymentProvider {
  async function simulateNetwork(): Promise<void> {
    if (opts.latencyMs > 0) await sleep(opts.latencyMs);
    if (opts.faultRate > 0 && Math.random() < opts.faultRate)
      throw new TransientPaymentError("payment provider unavailable (simulated 503)");
  }

  async function flakyAttempt(key: string): Promise<void> {
    const r = await pool.query<{ attempts: number }>(
      `INSERT INTO payment_attempts (idempotency_key, attempts) VALUES ($1, 1)
       ON CONFLICT (idempotency_key) DO UPDATE SET attempts = payment_attempts.attempts + 1, updated_at = now()
       RETURNING attempts`,
      [key],
    );
    // An upsert with RETURNING returns its one row.
    if (r.rows[0]!.attempts <= FLAKY_FAILURES)
      throw new TransientPaymentError("payment provider timed out (test card pm_card_flaky)");
  }

  async function existing(key: string) {
    const r = await pool.query<PaymentRow>(
      `SELECT provider_ref, amount_cents, currency, status FROM payments WHERE idempotency_key = $1`,
      [key],
    );
    return r.rows[0];
  }

  /** A charge row: `succeeded` at once, or `authorized` until captured or cancelled. */
  async function open(req: ChargeRequest, mode: "charge" | "authorize"): Promise<Charge> {
    await simulateNetwork();
    if (!paymentMethodSchema.safeParse(req.paymentMethod).success) {
      throw new PermanentError("unknown_payment_method", `Unknown payment method ${req.paymentMethod}`);
    }
    if (req.paymentMethod === "pm_card_flaky" && !(await existing(req.idempotencyKey))) await flakyAttempt(req.idempotencyKey);
    const declined = req.paymentMethod === "pm_card_chargeDeclined";
    const status = declined ? "declined" : mode === "charge" ? "succeeded" : "authorized";
    // One round trip: the first call with a key records the outcome; any later one gets that row back.
    const r = await pool.query<PaymentRow>(
      `INSERT INTO payments (idempotency_key, order_id, kind, amount_cents, currency, payment_method, status, provider_ref)
       VALUES ($1, $2, 'charge', $3, $4, $5, $6, $7)
       ON CONFLICT (idempotency_key) DO UPDATE SET idempotency_key = EXCLUDED.idempotency_key
       RETURNING provider_ref, amount_cents, currency, status`,
      [
        req.idempotencyKey,
        req.orderId,
        req.amountCents,
        req.currency,
        req.paymentMethod,
        status,
        providerRef(declined ? "dc" : "ch", req.idempotencyKey),
      ],
    );
    const row = r.rows[0];
    if (!row) throw new Error(`charge ${req.idempotencyKey} not found after insert`);
    if (row.amount_cents !== req.amountCents) {
      throw new PermanentError("idempotency_mismatch", "The idempotency key was used for a different amount");
    }
    if (row.status === "declined") throw new PermanentError("card_declined", "Your card was declined");
    return { providerRef: row.provider_ref, amountCents: row.amount_cents, currency: row.currency.trim() };
  }

  /** Moves an authorised charge to `to`; a row already there is the earlier call's outcome. */
  async function settle(req: AuthorizationRequest, to: "succeeded" | "canceled"): Promise<Charge> {
    await simulateNetwork();
    const r = await pool.query<PaymentRow>(
      `UPDATE payments SET status = CASE WHEN status = 'authorized' THEN $2 ELSE status END,
                           updated_at = CASE WHEN status = 'authorized' THEN now() ELSE updated_at END
        WHERE provider_ref = $1 AND kind = 'charge'
        RETURNING provider_ref, amount_cents, currency, status`,
      [req.chargeRef, to],
    );
    const row = r.rows[0];
    if (!row) throw new PermanentError("no_such_charge", `No authorisation ${req.chargeRef}`);
    if (row.status !== to) {
      const verb = to === "succeeded" ? "capture" : "cancel";
      throw new PermanentError("payment_intent_unexpected_state", `Cannot ${verb} a payment in status ${row.status}`);
    }
    return { providerRef: row.provider_ref, amountCents: row.amount_cents, currency: row.currency.trim() };
  }

  const charge = (req: ChargeRequest) => open(req, "charge");
  const authorize = (req: ChargeRequest) => open(req, "authorize");
  const capture = (req: AuthorizationRequest) => settle(req, "succeeded");
  const cancel = async (req: AuthorizationRequest) => {
    await settle(req, "canceled");
  };

  async function refund(req: RefundRequest): Promise<Refund> {
    await simulateNetwork();
    await pool.query(
      `INSERT INTO payments (idempotency_key, order_id, kind, amount_cents, currency, payment_method, status, provider_ref)
       SELECT $1, order_id, 'refund', $3, currency, payment_method, 'succeeded', $4
         FROM payments WHERE provider_ref = $2 AND kind = 'charge' AND status = 'succeeded'
       ON CONFLICT (idempotency_key) DO NOTHING`,
      [req.idempotencyKey, req.chargeRef, req.amountCents, providerRef("re", req.idempotencyKey)],
    );
    const row = await existing(req.idempotencyKey);
    if (!row) throw new PermanentError("no_such_charge", `No successful charge ${req.chargeRef} to refund`);
    return { providerRef: row.provider_ref, amountCents: row.amount_cents, state: "succeeded" };
  }

  /** The local ledger's refunds of a charge (they succeed at once); it knows no disputes. */
  async function afterSale(paymentRef: string): Promise<AfterSale> {
    const r = await pool.query<Pick<PaymentRow, "provider_ref" | "amount_cents">>(
      `SELECT r.provider_ref, r.amount_cents FROM payments r
         JOIN payments c ON c.order_id = r.order_id AND c.kind = 'charge' AND c.provider_ref = $1
        WHERE r.kind = 'refund' AND r.status = 'succeeded'`,
      [paymentRef],
    );
    return {
      refunds: r.rows.map((row) => ({
        providerRef: row.provider_ref,
        amountCents: row.amount_cents,
        state: "succeeded",
      })),
      disputes: [],
    };
  }

  return { name: "local", charge, authorize, capture, cancel, refund, afterSale };
}
