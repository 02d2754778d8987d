/**
 * A customer paying on the fake Stripe's hosted page, without a browser: the same forms a browser
 * submits (card number, 3-D Secure challenge, SEPA IBAN), answered with the same redirects. And
 * the settings that put a test stack on Stripe: the worker charges through the fake, the fake
 * signs its webhooks with the secret the web verifies, and delivers them to the web.
 */
import assert from "node:assert/strict";
import { CARD_3DS, CARD_SUCCEEDS, IBAN_SUCCEEDS, type FakeStripeServer } from "../../scripts/stack/local-stripe/server.ts";
import { waitUntil } from "./browser-client.ts";
import type { TestStack } from "./test-stack.ts";

export function stripeEnv(fake: FakeStripeServer): NodeJS.ProcessEnv {
  return {
    PAYMENT_PROVIDER: "stripe",
    STRIPE_SECRET_KEY: fake.secretKey,
    STRIPE_API_BASE: fake.url,
    STRIPE_TIMEOUT_MS: "5000",
    STRIPE_WEBHOOK_SECRETS: fake.webhookSecret,
  };
}

/** Points the fake's webhooks at the stack's web (which must be running). */
export function deliverWebhooksTo(fake: FakeStripeServer, stack: TestStack): void {
  fake.webhookUrl = `${stack.webUrl}/webhooks/stripe`;
}

export function checkoutDriver(fake: () => FakeStripeServer) {
  /** The order's payment page, once its workflow has opened it. */
  const sessionOf = (orderId: string) =>
    waitUntil(`the payment page of order ${orderId}`, () => fake().ledgerOf(orderId).checkoutSessions[0]);
  const submit = (url: string, form: Record<string, string>) =>
    fetch(url, { method: "POST", body: new URLSearchParams(form), redirect: "manual" });

  /** Pays with a card; for a card that needs it, then answers the 3-D Secure challenge. */
  async function payByCard(orderId: string, card = CARD_SUCCEEDS, challenge: "complete" | "fail" = "complete") {
    const session = await sessionOf(orderId);
    const answer = await submit(session.url, { card });
    if (card !== CARD_3DS) return answer;
    assert.equal(answer.status, 303, "a card that needs 3-D Secure is sent to its challenge");
    return submit(new URL(answer.headers.get("location") ?? "", fake().url).toString(), { result: challenge });
  }

  /** Pays by SEPA Direct Debit: processing until the test settles it (`fake.settleAsync`). */
  async function payBySepa(orderId: string, iban = IBAN_SUCCEEDS) {
    return submit((await sessionOf(orderId)).url, { iban });
  }

  return { sessionOf, payByCard, payBySepa };
}
