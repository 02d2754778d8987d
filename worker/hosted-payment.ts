/**
 * Paying on the provider's own page (Stripe Checkout), inside the order workflow:
 *   1. open checkout     the page, in a named step keyed `order:<id>:checkout`; the order's row and a
 *                        "waiting for payment" event carry its address (the order page's Pay button)
 *   2. wait              durably, for whichever comes first: a webhook's wake-up (one durable promise
 *                        per kind of event, resolved by the shared `paymentEvent` handler), the
 *                        customer's cancel, or a timer. Whatever woke the order, it then asks the
 *                        provider where the payment stands (`check payment`): a webhook only says
 *                        "look now", so a duplicated, late, reordered or lost one changes only how
 *                        fast the order moves, never where it goes.
 *   3. the outcome       paid or authorised: the charge; declined-then-abandoned or expired: the
 *                        order ends "payment not completed"; a bank payment that is processing
 *                        waits for its result (checked less and less often, up to a bound).
 * A customer's cancel closes the page first (so it can no longer be paid), then takes where it
 * stands: money taken in the meantime is given back by the saga like any other charge.
 */
import * as restate from "@restatedev/restate-sdk";
import { orderSteps } from "../shared/order-steps.ts";
import type { OrdersRepo } from "./adapters/orders.repo.ts";
import type { Charge, CheckoutSession, CheckoutState, HostedCheckout } from "./adapters/payment-provider.ts";
import type { StoredOrder } from "./adapters/orders.repo.ts";
import { OrderStop } from "./order-stop.ts";
import type { ProgressTracker } from "./progress-tracker.ts";

/** The kinds of webhook that wake a waiting order: each resolves its own durable promise once. */
export const paymentSignals = ["completed", "settled", "expired"] as const;
export type PaymentSignal = (typeof paymentSignals)[number];
export const paymentSignalPromise = (s: PaymentSignal) => `payment.${s}`;

/**
 * A failed attempt on the page (a declined card, a failed 3-D Secure) may happen again and again:
 * each wakes the order through a promise of its own, numbered in order, so that the order page says
 * why at once. Past this many the order still hears of them at its next check.
 */
export const DECLINES_HEARD = 20;
export const declinedPromise = (n: number) => `payment.declined.${n}`;

/** How late a retried "open checkout" may reach the provider after the order first asked. */
const RETRY_MARGIN_MS = 5 * 60_000;

/**
 * Closing the page decides the order (paid or not): retried for up to a day of a provider that does
 * not answer, then the order fails and the operators see it.
 */
const CLOSE_RETRY = {
  initialRetryInterval: { seconds: 1 },
  maxRetryInterval: { minutes: 5 },
  maxRetryDuration: { hours: 24 },
} as const;

/** A bank debit settles within about two weeks (SEPA: up to 14 business days); past that the order ends. */
export const BANK_PAYMENT_LIMIT_MS = 21 * 24 * 60 * 60_000;

export interface HostedPaymentPolicy {
  /** How long the order waits for a webhook before it asks the provider itself. */
  checkIntervalMs: number;
  /** How long the payment page stays open (the stock is held meanwhile). */
  pageLifetimeMs: number;
  /** A bank payment that is still processing after this long ends the order. */
  processingLimitMs: number;
  /** Retry policy of each call to the provider: it ends, and the saga compensates. */
  retry: restate.RunOptions<unknown>;
}

export interface HostedPaymentInput {
  order: StoredOrder;
  needsApproval: boolean;
  orderUrl: string;
  cancelRequest: restate.DurablePromise<string>;
}

/** One order's payment on the hosted page; resolves with the charge (captured unless only authorised). */
export async function payOnHostedPage(
  ctx: restate.WorkflowContext,
  deps: { checkout: HostedCheckout; orders: OrdersRepo; progress: ProgressTracker; policy: HostedPaymentPolicy },
  input: HostedPaymentInput,
): Promise<{ charge: Charge; captured: boolean }> {
  const { order } = input;
  const orderId = order.id;
  const { policy } = deps;
  const retry = <T>() => policy.retry as restate.RunOptions<T>;
  // Journalled, so a retried request carries the same expiry: Stripe answers a retry with its stored
  // answer only when the parameters are the same, and refuses the key otherwise. The margin covers
  // the retries: Stripe wants the expiry at least 30 minutes after the request that reaches it.
  const expiresAt = (await ctx.date.now()) + policy.pageLifetimeMs + RETRY_MARGIN_MS;
  const session = await deps.progress.step<CheckoutSession>("open checkout", {
    action: async () => {
      const s = await deps.checkout.open({
        idempotencyKey: `order:${orderId}:checkout`,
        orderId,
        email: order.email,
        amountCents: order.totalCents,
        currency: order.currency,
        lines: order.lines,
        capture: input.needsApproval ? "manual" : "automatic",
        successUrl: `${input.orderUrl}?paid=1`,
        cancelUrl: input.orderUrl,
        expiresAt,
      });
      await deps.orders.markAwaitingPayment(orderId, s.sessionId, s.url);
      return s;
    },
    after: (s) => [{ ...orderSteps.awaitingPayment, data: { paymentUrl: s.url } }],
    retry: retry(),
  });

  type Woke =
    { why: "signal"; signal: PaymentSignal } | { why: "declined" } | { why: "timer" } | { why: "cancel"; reason: string };
  const unheard = new Set<PaymentSignal>(paymentSignals);
  let cancelled: string | undefined;
  let processingSince: number | undefined;
  let interval = policy.checkIntervalMs;
  let declines = 0;
  /** The failed attempt the order page says, so that each is said once. */
  let said: string | undefined;
  const nextDecline = () =>
    ctx
      .promise<string>(declinedPromise(declines))
      .get()
      .map((): Woke => ({ why: "declined" }));
  let declined = nextDecline();

  // Made once and raced again on every turn: a wait costs its journal entry once, not per turn.
  const signalled = new Map(
    paymentSignals.map((signal) => [
      signal,
      ctx
        .promise<string>(paymentSignalPromise(signal))
        .get()
        .map((): Woke => ({ why: "signal", signal })),
    ]),
  );
  const cancelRequested = input.cancelRequest
    .get()
    .map((reason): Woke => ({ why: "cancel", reason: reason || "Cancelled by the customer" }));

  // A check Stripe does not answer (an outage, a revoked key) is not a verdict: the customer may
  // have paid meanwhile. The order waits on, and asks again next turn; at the page's end it must
  // close the page, and that it keeps trying for a day.
  const checkOrWait = async (): Promise<CheckoutState> => {
    try {
      return await ctx.run("check payment", () => deps.checkout.check(session.sessionId), retry());
    } catch (err) {
      if (!(err instanceof restate.TerminalError)) throw err;
      return { state: "open" };
    }
  };

  for (;;) {
    const waits = [...unheard].map((signal) => signalled.get(signal)!);
    waits.push(ctx.sleep(interval).map((): Woke => ({ why: "timer" })));
    if (cancelled === undefined) waits.push(cancelRequested);
    if (declines < DECLINES_HEARD) waits.push(declined);
    const woke = await restate.RestatePromise.race(waits);
    if (woke.why === "signal") unheard.delete(woke.signal);
    if (woke.why === "declined") {
      declines++;
      if (declines < DECLINES_HEARD) declined = nextDecline();
    }

    const now = await ctx.date.now();
    if (woke.why === "cancel") cancelled = woke.reason;
    // Cancelled, or past the page's end (a lost "expired" webhook must not hold the stock): close
    // the page, so it can no longer be paid, and take where it stands.
    const state: CheckoutState =
      cancelled !== undefined || now >= session.expiresAt
        ? await ctx.run("close checkout", () => deps.checkout.close(session.sessionId, `order:${orderId}:close`), CLOSE_RETRY)
        : await checkOrWait();

    switch (state.state) {
      case "paid":
        return { charge: state.charge, captured: true };
      case "authorized":
        return { charge: state.charge, captured: false };
      case "failed":
        throw new OrderStop(cancelled ? "cancelled" : "rejected", cancelled ?? `Payment not completed: ${state.reason}`);
      case "expired":
        throw new OrderStop(
          cancelled ? "cancelled" : "rejected",
          cancelled ?? "Payment not completed: the payment page expired before the order was paid",
        );
      case "processing":
        if (processingSince === undefined) {
          processingSince = now;
          await deps.progress.step("payment processing", {
            action: () => deps.orders.setStatus(orderId, "awaiting_payment", "Payment processing"),
            after: [orderSteps.paymentProcessing],
          });
        } else if (now - processingSince >= policy.processingLimitMs) {
          throw new OrderStop("rejected", "Payment not completed: the bank did not confirm it in time");
        }
        // A bank payment takes days: ask less and less often (the webhook still wakes the order at once).
        interval = Math.min(interval * 2, 6 * 60 * 60_000);
        break;
      case "open":
        if (state.lastError && state.lastError !== said) {
          said = state.lastError;
          const why = state.lastError;
          await deps.progress.step("payment attempt failed", {
            action: () => deps.orders.setStatus(orderId, "awaiting_payment", `Payment attempt failed: ${why}`),
            after: [
              {
                ...orderSteps.awaitingPayment,
                message: `${why}. Try again, or another card, on the secure payment page.`,
                data: { paymentUrl: session.url },
              },
            ],
          });
        }
        // Wake up when the page ends at the latest: its end is the order's too.
        interval = Math.max(1_000, Math.min(policy.checkIntervalMs, session.expiresAt - now));
        break;
    }
  }
}
