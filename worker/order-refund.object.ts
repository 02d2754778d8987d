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
 *
 * The events and email both handlers send are in order-refund-steps.ts; reconcile's steps 3 to 5 in
 * order-refund-reconcile.ts.
 */
import * as restate from "@restatedev/restate-sdk";
import { z } from "zod";
import { formatMoney } from "../shared/money.ts";
import { isRefundable, orderSteps } from "../shared/order-steps.ts";
import type { AfterSaleRepo } from "./adapters/after-sale.repo.ts";
import type { PaymentProvider, Refund } from "./adapters/payment-provider.ts";
import type { ProgressPublisher } from "./adapters/progress-publisher.ts";
import { asTerminalError, infraRetry } from "./errors.ts";
import type { ControlAnswer } from "./order-controls.handlers.ts";
import { createRefundReconcile } from "./order-refund-reconcile.ts";
import { createRefundNotices, REFUND_CHECKS, refundedBy, refundFailedLine } from "./order-refund-steps.ts";

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

export function createOrderRefundObject(deps: OrderRefundDeps) {
  const provider = deps.payments.name === "stripe" ? "Stripe" : "the payment provider";
  const notices = createRefundNotices(deps);
  const { publishAfterSale, announceRefunded } = notices;

  function scheduleCheck(ctx: restate.ObjectContext, check: number): void {
    if (check > REFUND_CHECKS) return;
    ctx
      .objectSendClient(orderRefundApi, ctx.key)
      .reconcile({ trigger: "check", check }, restate.rpc.sendOpts({ delay: deps.refundCheckMs * 2 ** (check - 1) }));
  }

  const { settleOurRefund, recordDashboardRefunds, followDisputes } = createRefundReconcile({
    orders: deps.orders,
    provider,
    notices,
    scheduleCheck,
  });

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
          if (!isRefundable(order.status)) {
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

          const reason = refund.state === "failed" ? refundFailedLine(refund) : refundedBy(req.operator, req.reason);
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
            return { accepted: false, message: refundFailedLine(refund) };
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
