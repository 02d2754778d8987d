/**
 * OrderRefund (virtual object, key = order id): an operator's full refund of a fulfilled order.
 * The order's workflow has ended by then (its handlers may be gone), so this works from the
 * order's row. One refund runs at a time per order (exclusive handler).
 *   refund
 *     1. load order        its row: refused unless fulfilled (a refunded order is refused too)
 *     2. refund payment    the whole amount, idempotency key `order:<id>:refund`; a refusal by the
 *                          provider is answered, nothing recorded
 *     3. record refund     the refund's row (one per order) and status 'refunded' with who and why
 *     4. refunded email    queued to EmailSender (one-way), idempotency key `order:<id>:refunded`
 *     5. publish refunded  a terminal event after the order's last one (seq: `refundSeq`), unless it
 *                          is there already; it says how much, in which currency, for an open page
 * Nothing else is compensated: the goods have shipped, the stock stays sold.
 */
import * as restate from "@restatedev/restate-sdk";
import { z } from "zod";
import { formatMoney } from "../shared/money.ts";
import { orderSteps } from "../shared/order-steps.ts";
import type { OrdersRepo } from "./adapters/orders.repo.ts";
import type { PaymentProvider, Refund } from "./adapters/payment-provider.ts";
import type { ProgressPublisher } from "./adapters/progress-publisher.ts";
import { emailSenderApi } from "./email-sender.service.ts";
import { asTerminalError, infraRetry } from "./errors.ts";
import type { ControlAnswer } from "./order-controls.handlers.ts";

export const refundInput = z.object({
  operator: z.string().trim().min(1).max(100),
  reason: z.string().trim().min(1).max(200),
});

export interface OrderRefundDeps {
  orders: OrdersRepo;
  payments: PaymentProvider;
  progress: ProgressPublisher;
  publicWebUrl: string;
}

/** The line the customer's timeline, email and the order's row show: the shop did it, who, and why. */
export function refundedBy(operator: string, reason: string): string {
  return `Refunded by the shop (${operator}): ${reason}`;
}

/**
 * Above every seq an order's workflow publishes (about ten events): what the refund is numbered
 * when the order's stream has expired, so that a page still showing the workflow's events takes it.
 */
export const REFUND_SEQ_FLOOR = 1_000;

/**
 * The refund event's seq, after the stream's newest (`latest`, 0 when the stream is gone). Read
 * inside the journalled step, so a replay publishes the same seq, which the store refuses again.
 */
export function refundSeq(latest: number): number {
  return latest > 0 ? latest + 1 : REFUND_SEQ_FLOOR;
}

export function createOrderRefundObject(deps: OrderRefundDeps) {
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
          if (order.status !== "fulfilled") {
            return {
              accepted: false,
              message: `Only a fulfilled order can be refunded; this one is ${order.status.replace("_", " ")}.`,
            };
          }
          const chargeRef = order.paymentRef;
          if (chargeRef === null)
            return { accepted: false, message: "No charge is recorded for this order, so there is nothing to refund." };

          let refund: Refund;
          try {
            refund = await ctx.run(
              "refund payment",
              () =>
                deps.payments.refund({
                  idempotencyKey: `order:${orderId}:refund`,
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

          const reason = refundedBy(req.operator, req.reason);
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
              }),
            infraRetry,
          );

          const orderUrl = new URL(`/orders/${orderId}`, deps.publicWebUrl).toString();
          ctx.serviceSendClient(emailSenderApi).send({
            idempotencyKey: `order:${orderId}:refunded`,
            to: order.email,
            template: "order-refunded",
            data: { orderId, orderUrl, reason, refundedCents: refund.amountCents, currency: order.currency },
          });

          // Best-effort like every progress event: the order's row already says 'refunded'.
          const resource = { kind: "order", id: orderId } as const;
          await ctx.run("publish refunded", async () => {
            try {
              const last = (await deps.progress.latest?.(resource)) ?? { seq: 0, step: null };
              if (last.step === orderSteps.refunded.step) return "duplicate";
              const event = {
                ...orderSteps.refunded,
                seq: refundSeq(last.seq),
                message: reason,
                data: { refundedCents: refund.amountCents, currency: order.currency, operator: req.operator },
              };
              return (await deps.progress.publish(resource, event)).outcome;
            } catch {
              return "dropped";
            }
          });

          return { accepted: true, message: `Refunded ${formatMoney(refund.amountCents, order.currency)}.` };
        },
      ),
    },
    options: { asTerminalError },
  });
}

export type OrderRefund = ReturnType<typeof createOrderRefundObject>;
export const orderRefundApi: OrderRefund = { name: "OrderRefund" };
