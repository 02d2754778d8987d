/**
 * OrderRefund (virtual object, key = order id): the order's payment after fulfilment. The order's
 * workflow has ended by then (its handlers may be gone), so this works from the order's row and
 * from what the payment provider says. One handler runs at a time per order (exclusive).
 *
 *   refund      an operator's full refund of a fulfilled order (or of one whose refund failed)
 *     1. load order          its row: refused unless fulfilled or refund_failed
 *     2. refund payment      the whole amount, idempotency key `order:<id>:refund` (after a failed
 *                            refund, `order:<id>:refund:<failed refund>`); a refusal is answered,
 *                            nothing recorded
 *     3. record refund       the refund's row (one per order) and the order's status, by where the
 *                            refund stands: refunded, refund_pending or refund_failed
 *     4. then                refunded: the refunded email (`order:<id>:refunded`) and a terminal
 *                            event; pending: a "refund pending" event and a check later (below);
 *                            failed: a "refund failed" event, the operators see the status
 *   reconcile   the provider says something moved (a webhook: a refund's outcome, a refund or a
 *               dispute made in its dashboard), or a pending refund's check is due
 *     1. load order
 *     2. read refunds and disputes   from the provider: the authority (an event only says "look"),
 *                                    so duplicated, late or reordered events change nothing
 *     3. settle our refund           pending → refunded (email, event) or refund_failed (event)
 *     4. dashboard refunds           the whole amount refunded there: recorded as refunded by the
 *                                    provider (email, event); part of it: said on the order's row
 *     5. disputes                    open → disputed; closed → back (won) or kept, saying "lost"
 *     6. a check that finds the refund still pending schedules the next one, at doubling intervals,
 *        REFUND_CHECKS in all (about three weeks from an hour); then the row asks for a look by hand.
 * Nothing else is compensated: the goods have shipped, the stock stays sold.
 */
import * as restate from "@restatedev/restate-sdk";
import { z } from "zod";
import { formatMoney } from "../shared/money.ts";
import { orderSteps, type OrderStepDraft } from "../shared/order-steps.ts";
import type { OrderStatus } from "../shared/order.schema.ts";
import type { AfterSaleRepo, RefundableOrder } from "./adapters/after-sale.repo.ts";
import type { AfterSale, PaymentProvider, Refund } from "./adapters/payment-provider.ts";
import type { ProgressPublisher } from "./adapters/progress-publisher.ts";
import { emailSenderApi } from "./email-sender.service.ts";
import { asTerminalError, infraRetry } from "./errors.ts";
import type { ControlAnswer } from "./order-controls.handlers.ts";

export const refundInput = z.object({
  operator: z.string().trim().min(1).max(100),
  reason: z.string().trim().min(1).max(200),
});

/** `trigger`: the provider's event id, or "check" for a pending refund's timer (`check`: which one). */
export const reconcileInput = z.object({
  trigger: z.string().min(1).max(255),
  check: z.number().int().min(0).max(50).default(0),
});
export type ReconcileInput = z.output<typeof reconcileInput>;

export interface OrderRefundDeps {
  /** The order repo (only its after-sale statements are used here). */
  orders: AfterSaleRepo;
  payments: PaymentProvider;
  progress: ProgressPublisher;
  publicWebUrl: string;
  /** How long after a pending refund its first check comes; each later one waits twice as long. */
  refundCheckMs: number;
}

/** Checks of a pending refund: from an hour, doubling, the last about three weeks after the refund. */
export const REFUND_CHECKS = 9;

/** The line the customer's timeline, email and the order's row show: the shop did it, who, and why. */
export function refundedBy(operator: string, reason: string): string {
  return `Refunded by the shop (${operator}): ${reason}`;
}

/**
 * Above every seq an order's workflow publishes (about ten events): what an after-sale event is
 * numbered when the order's stream has expired, so that a page still showing the workflow's events
 * takes it.
 */
export const REFUND_SEQ_FLOOR = 1_000;

/**
 * An after-sale event's seq, after the stream's newest (`latest`, 0 when the stream is gone). Read
 * inside the journalled step, so a replay publishes the same seq, which the store refuses again.
 */
export function refundSeq(latest: number): number {
  return latest > 0 ? latest + 1 : REFUND_SEQ_FLOOR;
}

/** What an order may be refunded from: fulfilled, or after the bank refused the last refund. */
const REFUNDABLE = new Set(["fulfilled", "refund_failed"]);

export function createOrderRefundObject(deps: OrderRefundDeps) {
  const provider = deps.payments.name === "stripe" ? "Stripe" : "the payment provider";

  /** An event after the order's last one, unless the stream's newest is this step already. Best-effort: the row says it. */
  async function publishAfterSale(ctx: restate.ObjectContext, draft: OrderStepDraft): Promise<void> {
    const resource = { kind: "order", id: ctx.key } as const;
    await ctx.run(`publish ${draft.step}`, async () => {
      try {
        const last = (await deps.progress.latest?.(resource)) ?? { seq: 0, step: null };
        if (last.step === draft.step) return "duplicate";
        return (await deps.progress.publish(resource, { ...draft, seq: refundSeq(last.seq) })).outcome;
      } catch {
        return "dropped";
      }
    });
  }

  /** The customer is told once, whichever way the refund came (the key is the order's). */
  function refundedEmail(ctx: restate.ObjectContext, order: RefundableOrder, reason: string, refundedCents: number): void {
    const orderUrl = new URL(`/orders/${ctx.key}`, deps.publicWebUrl).toString();
    ctx.serviceSendClient(emailSenderApi).send({
      idempotencyKey: `order:${ctx.key}:refunded`,
      to: order.email,
      template: "order-refunded",
      data: { orderId: ctx.key, orderUrl, reason, refundedCents, currency: order.currency },
    });
  }

  async function announceRefunded(ctx: restate.ObjectContext, order: RefundableOrder, reason: string, cents: number, by: string) {
    refundedEmail(ctx, order, reason, cents);
    await publishAfterSale(ctx, {
      ...orderSteps.refunded,
      message: reason,
      data: { refundedCents: cents, currency: order.currency, operator: by },
    });
  }

  function scheduleCheck(ctx: restate.ObjectContext, check: number): void {
    if (check > REFUND_CHECKS) return;
    ctx
      .objectSendClient(orderRefundApi, ctx.key)
      .reconcile({ trigger: "check", check }, restate.rpc.sendOpts({ delay: deps.refundCheckMs * 2 ** (check - 1) }));
  }

  const failedLine = (r: Pick<Refund, "failureReason">) =>
    `The refund failed at the bank${r.failureReason ? ` (${r.failureReason.replaceAll("_", " ")})` : ""}: refund again, or reach the customer.`;

  /** Our own refund, pending until now: where the provider says it stands. Returns the order as it is now. */
  async function settleOurRefund(
    ctx: restate.ObjectContext,
    order: RefundableOrder,
    seen: AfterSale,
    check: number,
  ): Promise<RefundableOrder> {
    const ours = order.refund;
    if (ours?.state !== "pending") return order;
    const now = seen.refunds.find((r) => r.providerRef === ours.providerRef);
    if (!now || now.state === "pending") {
      if (check === 0) return order; // a webhook about something else: the timer chain is still running
      if (check < REFUND_CHECKS) {
        scheduleCheck(ctx, check + 1);
        return order;
      }
      await ctx.run(
        "flag stuck refund",
        () =>
          deps.orders.moveAfterSale(
            ctx.key,
            ["refund_pending"],
            "refund_pending",
            `The refund is still pending at ${provider} after weeks: look at it there.`,
          ),
        infraRetry,
      );
      return order;
    }
    const reason =
      now.state === "succeeded"
        ? `Refunded by the shop: ${formatMoney(now.amountCents, order.currency)}, confirmed by the bank`
        : failedLine(now);
    const moved = await ctx.run(
      "settle refund",
      () =>
        deps.orders.settleRefund(ctx.key, {
          providerRef: now.providerRef,
          state: now.state === "succeeded" ? "succeeded" : "failed",
          failureReason: now.failureReason,
          statusReason: reason,
        }),
      infraRetry,
    );
    if (!moved) return order;
    const settled = now.state === "succeeded" ? "succeeded" : "failed";
    if (settled === "succeeded") await announceRefunded(ctx, order, reason, now.amountCents, provider);
    else await publishAfterSale(ctx, orderSteps.refundFailed);
    // This object is the only writer after fulfilment (one handler at a time): no need to read it again.
    const status = settled === "succeeded" ? "refunded" : "refund_failed";
    return { ...order, status, refund: { providerRef: now.providerRef, state: settled } };
  }

  /** Refunds made in the provider's dashboard: the whole amount makes the order refunded. Returns the order as it is now. */
  async function recordDashboardRefunds(
    ctx: restate.ObjectContext,
    order: RefundableOrder,
    seen: AfterSale,
  ): Promise<RefundableOrder> {
    const theirs = seen.refunds.filter((r) => r.state === "succeeded" && r.providerRef !== order.refund?.providerRef);
    const cents = theirs.reduce((n, r) => n + r.amountCents, 0);
    const newest = theirs[0];
    if (!newest || !REFUNDABLE.has(order.status)) return order;
    const amounts = `${formatMoney(cents, order.currency)} of ${formatMoney(order.totalCents, order.currency)}`;
    if (cents < order.totalCents) {
      await ctx.run(
        "note partial refund",
        () =>
          deps.orders.moveAfterSale(
            ctx.key,
            [order.status],
            order.status as OrderStatus,
            `Partly refunded in ${provider}'s dashboard: ${amounts}`,
          ),
        infraRetry,
      );
      return order;
    }
    const reason = `Refunded in ${provider}'s dashboard: ${formatMoney(cents, order.currency)}`;
    await ctx.run(
      "record dashboard refund",
      () =>
        deps.orders.recordRefund({
          orderId: ctx.key,
          amountCents: cents,
          currency: order.currency,
          providerRef: newest.providerRef,
          operator: `${provider} dashboard`,
          reason,
          statusReason: reason,
          state: "succeeded",
        }),
      infraRetry,
    );
    await announceRefunded(ctx, order, reason, cents, `${provider} dashboard`);
    return { ...order, status: "refunded", refund: { providerRef: newest.providerRef, state: "succeeded" } };
  }

  /** A chargeback: the order says so while it is open, and how it ended once it is closed. */
  async function followDisputes(ctx: restate.ObjectContext, order: RefundableOrder, seen: AfterSale) {
    const open = seen.disputes.find((d) => d.state === "open");
    if (open) {
      const reason = `Disputed by the card holder's bank (${open.reason}, ${formatMoney(open.amountCents, order.currency)}): answer it in ${provider}'s dashboard.`;
      const moved = await ctx.run(
        "record dispute",
        () =>
          deps.orders.moveAfterSale(ctx.key, ["fulfilled", "refund_failed", "refunded", "refund_pending"], "disputed", reason),
        infraRetry,
      );
      if (moved) await publishAfterSale(ctx, orderSteps.disputed);
      return;
    }
    const closed = seen.disputes[0];
    if (!closed || order.status !== "disputed") return;
    if (closed.state === "won") {
      const refunded = seen.refunds.some((r) => r.state === "succeeded");
      const back: OrderStatus = refunded ? "refunded" : "fulfilled";
      const reason = "Dispute won: the bank kept the payment with the shop.";
      const moved = await ctx.run(
        "close dispute",
        () => deps.orders.moveAfterSale(ctx.key, ["disputed"], back, reason),
        infraRetry,
      );
      if (moved) await publishAfterSale(ctx, { ...(refunded ? orderSteps.refunded : orderSteps.fulfilled), message: reason });
    } else {
      const reason = `Dispute lost: the bank returned ${formatMoney(closed.amountCents, order.currency)} to the card holder.`;
      await ctx.run("close dispute", () => deps.orders.moveAfterSale(ctx.key, ["disputed"], "disputed", reason), infraRetry);
    }
  }

  return restate.object({
    name: "OrderRefund",
    handlers: {
      refund: restate.handlers.object.exclusive(
        { input: restate.serde.schema(refundInput) },
        async (ctx: restate.ObjectContext, req): Promise<ControlAnswer> => {
          const orderId = ctx.key;
          const order = await ctx.run("load order", () => deps.orders.refundable(orderId), infraRetry);
          if (!order) return { accepted: false, message: "There is no such order." };
          if (order.status === "refunded") return { accepted: false, message: "This order has already been refunded." };
          if (!REFUNDABLE.has(order.status)) {
            return {
              accepted: false,
              message: `Only a fulfilled order can be refunded; this one is ${order.status.replaceAll("_", " ")}.`,
            };
          }
          const chargeRef = order.paymentRef;
          if (chargeRef === null)
            return { accepted: false, message: "No charge is recorded for this order, so there is nothing to refund." };

          // After a failed refund, a new one: a new key (the old one would replay the failure).
          const failed = order.refund?.state === "failed" ? order.refund.providerRef : null;
          let refund: Refund;
          try {
            refund = await ctx.run(
              "refund payment",
              () =>
                deps.payments.refund({
                  idempotencyKey: failed ? `order:${orderId}:refund:${failed}` : `order:${orderId}:refund`,
                  orderId,
                  chargeRef,
                  amountCents: order.totalCents,
                  currency: order.currency,
                }),
              infraRetry,
            );
          } catch (err) {
            if (!(err instanceof restate.TerminalError)) throw err;
            return { accepted: false, message: `The payment provider refused the refund: ${err.message}` };
          }

          const reason = refund.state === "failed" ? failedLine(refund) : refundedBy(req.operator, req.reason);
          await ctx.run(
            "record refund",
            () =>
              deps.orders.recordRefund({
                orderId,
                amountCents: refund.amountCents,
                currency: order.currency,
                providerRef: refund.providerRef,
                operator: req.operator,
                reason: req.reason,
                statusReason: reason,
                state: refund.state,
                failureReason: refund.failureReason,
              }),
            infraRetry,
          );

          const amount = formatMoney(refund.amountCents, order.currency);
          if (refund.state === "pending") {
            await publishAfterSale(ctx, orderSteps.refundPending);
            scheduleCheck(ctx, 1);
            return { accepted: true, message: `Refund of ${amount} made; the bank has not confirmed it yet.` };
          }
          if (refund.state === "failed") {
            await publishAfterSale(ctx, orderSteps.refundFailed);
            return { accepted: false, message: failedLine(refund) };
          }
          await announceRefunded(ctx, order, reason, refund.amountCents, req.operator);
          return { accepted: true, message: `Refunded ${amount}.` };
        },
      ),

      reconcile: restate.handlers.object.exclusive(
        { input: restate.serde.schema(reconcileInput) },
        async (ctx: restate.ObjectContext, req): Promise<ControlAnswer> => {
          const order = await ctx.run("load order", () => deps.orders.refundable(ctx.key), infraRetry);
          const paymentRef = order?.paymentRef;
          if (!order || !paymentRef) return { accepted: false, message: "No payment is recorded for this order." };
          const seen = await ctx.run("read refunds and disputes", () => deps.payments.afterSale(paymentRef), infraRetry);
          const settled = await settleOurRefund(ctx, order, seen, req.check);
          await followDisputes(ctx, await recordDashboardRefunds(ctx, settled, seen), seen);
          return { accepted: true, message: "Checked." };
        },
      ),
    },
    options: { asTerminalError },
  });
}

export type OrderRefund = ReturnType<typeof createOrderRefundObject>;
export const orderRefundApi: OrderRefund = { name: "OrderRefund" };
