/**
 * The Stripe adapter through the official SDK against the wire fake: what each answer becomes for
 * the workflow (a value, a PermanentError, an error Restate retries) and that a call repeated with
 * its idempotency key never moves money twice, counted on the fake's side.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as restate from "@restatedev/restate-sdk";
import { v7 as uuidv7 } from "uuid";
import { PermanentError } from "../worker/errors.ts";
import type { ChargeRequest } from "../worker/adapters/payment-provider.ts";
import { createStripePaymentProvider } from "../worker/adapters/stripe-payments.ts";
import { waitUntil } from "./helpers/browser-client.ts";
import { startFakeStripe, type FakeStripeServer } from "../scripts/stack/local-stripe/server.ts";

describe("Stripe payment provider (SDK against the wire fake)", () => {
  let fake: FakeStripeServer;
  let stripe: ReturnType<typeof createStripePaymentProvider>;

  before(async () => {
    fake = await startFakeStripe();
    stripe = createStripePaymentProvider({ secretKey: fake.secretKey, apiBase: fake.url, timeoutMs: 5_000 });
  });
  after(async () => {
    await fake?.stop();
  });

  const request = (over: Partial<ChargeRequest> = {}): ChargeRequest => {
    const orderId = over.orderId ?? uuidv7();
    return {
      idempotencyKey: `order:${orderId}:charge`,
      orderId,
      amountCents: 2_500,
      currency: "EUR",
      paymentMethod: "pm_card_visa",
      ...over,
    };
  };
  const rejects = async (p: Promise<unknown>): Promise<unknown> => {
    try {
      await p;
    } catch (err) {
      return err;
    }
    return assert.fail("expected the call to fail");
  };

  it("charges once per idempotency key: a repeated call gets the first PaymentIntent back", async () => {
    const req = request();
    const first = await stripe.charge(req);
    const again = await stripe.charge(req);
    assert.deepEqual(again, first);
    assert.equal(first.currency, "EUR");
    assert.equal(first.amountCents, 2_500);
    const ledger = fake.ledgerOf(req.orderId);
    assert.equal(ledger.paymentIntents.length, 1);
    assert.equal(ledger.charges.length, 1);
    assert.ok(fake.requests.some((r) => r.idempotencyKey === req.idempotencyKey && r.replayed));
  });

  it("a declined card is a PermanentError, and stays declined on a retry", async () => {
    const req = request({ paymentMethod: "pm_card_chargeDeclined" });
    for (let i = 0; i < 2; i++) {
      const err = await rejects(stripe.charge(req));
      assert.ok(err instanceof PermanentError, String(err));
      assert.equal(err.code, "card_declined");
      assert.equal(err.message, "Your card was declined");
    }
    assert.equal(fake.ledgerOf(req.orderId).paymentIntents.length, 1);
    assert.equal(fake.ledgerOf(req.orderId).charges.length, 0);
  });

  it("the same key with other parameters is refused for good (400 idempotency_error)", async () => {
    const req = request();
    await stripe.charge(req);
    const err = await rejects(stripe.charge({ ...req, amountCents: 9_900 }));
    assert.ok(err instanceof PermanentError, String(err));
    assert.equal(err.code, "idempotency_error");
    assert.equal(fake.ledgerOf(req.orderId).charges.length, 1);
  });

  it("429 is retried after Stripe's Retry-After, 503 with the step's backoff", async () => {
    fake.failNext("create", { kind: "rate_limit", retryAfterSeconds: 3 });
    const limited = await rejects(stripe.charge(request()));
    assert.ok(limited instanceof restate.RetryableError, String(limited));
    assert.equal(limited.retryAfter, 3_000);

    fake.failNext("create", { kind: "unavailable" });
    const down = await rejects(stripe.charge(request()));
    assert.ok(down instanceof Error && !(down instanceof PermanentError) && !(down instanceof restate.TerminalError));
  });

  it("409 (the key is still in use by a running request) is retried, and the retry gets that request's outcome", async () => {
    const req = request();
    // The first request is held at Stripe until the second has had its answer.
    let release = () => {};
    fake.failNext("create", { kind: "slow", delayMs: 0, until: new Promise<void>((r) => (release = r)) });
    const slow = stripe.charge(req);
    await waitUntil("the first request at Stripe", () => fake.handling(req.idempotencyKey));
    const conflict = await rejects(stripe.charge(req)).finally(release);
    assert.ok(conflict instanceof Error && !(conflict instanceof PermanentError), String(conflict));
    assert.match(conflict.message, /HTTP 409/);
    const first = await slow;
    assert.deepEqual(await stripe.charge(req), first);
    assert.equal(fake.ledgerOf(req.orderId).charges.length, 1);
  });

  it("a connection dropped after the charge was made: the retry gets the same PaymentIntent, one charge", async () => {
    const req = request();
    // Twice: the SDK resends once by itself when a connection closes, even with its retries off.
    fake.failNext("create", { kind: "drop_after" }, 2);
    const lost = await rejects(stripe.charge(req));
    assert.ok(lost instanceof Error && !(lost instanceof PermanentError), String(lost));
    const retried = await stripe.charge(req);
    const ledger = fake.ledgerOf(req.orderId);
    assert.equal(ledger.paymentIntents.length, 1);
    assert.equal(ledger.charges.length, 1);
    assert.equal(retried.providerRef, ledger.paymentIntents[0]?.id);
  });

  it("authorise holds the amount; capture takes it once; cancel releases a hold and is harmless twice", async () => {
    const held = request();
    const auth = await stripe.authorize(held);
    assert.equal(fake.paymentIntents.get(auth.providerRef)?.status, "requires_capture");
    assert.equal(fake.ledgerOf(held.orderId).charges.length, 0, "an authorisation takes nothing");
    const settle = (op: string) => ({ ...held, idempotencyKey: `order:${held.orderId}:${op}`, chargeRef: auth.providerRef });
    const captured = await stripe.capture(settle("capture"));
    assert.deepEqual(await stripe.capture(settle("capture")), captured);
    assert.equal(fake.ledgerOf(held.orderId).charges.length, 1);
    const tooLate = await rejects(stripe.cancel(settle("cancel")));
    assert.ok(tooLate instanceof PermanentError, "a captured payment cannot be cancelled");

    const released = request();
    const auth2 = await stripe.authorize(released);
    const cancel2 = { ...released, idempotencyKey: `order:${released.orderId}:cancel`, chargeRef: auth2.providerRef };
    await stripe.cancel(cancel2);
    await stripe.cancel({ ...cancel2, idempotencyKey: `${cancel2.idempotencyKey}:again` });
    assert.equal(fake.paymentIntents.get(auth2.providerRef)?.status, "canceled");
    assert.equal(fake.ledgerOf(released.orderId).charges.length, 0);
  });

  it("refunds once per key, and a second refund of the whole amount is refused", async () => {
    const req = request();
    const charge = await stripe.charge(req);
    const refund = { ...req, idempotencyKey: `order:${req.orderId}:refund`, chargeRef: charge.providerRef };
    const first = await stripe.refund(refund);
    assert.deepEqual(await stripe.refund(refund), first);
    assert.equal(fake.ledgerOf(req.orderId).refunds.length, 1);
    const twice = await rejects(stripe.refund({ ...refund, idempotencyKey: "another-key" }));
    assert.ok(twice instanceof PermanentError);
    assert.equal(fake.ledgerOf(req.orderId).refunds.length, 1);
  });

  it("a wrong secret key is our configuration, not the customer's card: retried, never a decline", async () => {
    const misconfigured = createStripePaymentProvider({ secretKey: "sk_test_wrong", apiBase: fake.url, timeoutMs: 5_000 });
    const err = await rejects(misconfigured.charge(request()));
    assert.ok(err instanceof Error && !(err instanceof PermanentError), String(err));
    assert.match(err.message, /HTTP 401/);
  });
});
