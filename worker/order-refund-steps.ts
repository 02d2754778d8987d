/**
 * What both of OrderRefund's handlers (worker/order-refund.object.ts) do once a refund has moved:
 * an event after the order's last one, the customer's email, and the lines the order's row shows.
 * Runs inside the object's handlers: every side effect is a named step or a durable send.
 */
import type * as restate from "@restatedev/restate-sdk";
import { orderSteps, type OrderStepDraft } from "../shared/order-steps.ts";
import type { RefundableOrder } from "./adapters/after-sale.repo.ts";
import type { Refund } from "./adapters/payment-provider.ts";
import type { ProgressPublisher } from "./adapters/progress-publisher.ts";
import { emailSenderApi } from "./email-sender.service.ts";
import type { EmailRequest } from "./templates/email-templates.ts";
import { tracedSend } from "./tracing.ts";

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

/** What the order's row and the operator's answer say when the bank refused a refund. */
export const refundFailedLine = (r: Pick<Refund, "failureReason">) =>
  `The refund failed at the bank${r.failureReason ? ` (${r.failureReason.replaceAll("_", " ")})` : ""}: refund again, or reach the customer.`;

export interface RefundNoticeDeps {
  progress: ProgressPublisher;
  publicWebUrl: string;
}

export function createRefundNotices(deps: RefundNoticeDeps) {
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
    const email: EmailRequest = {
      idempotencyKey: `order:${ctx.key}:refunded`,
      to: order.email,
      template: "order-refunded",
      data: { orderId: ctx.key, orderUrl, reason, refundedCents, currency: order.currency },
    };
    // In the refund's trace (an operator's request, or the webhook that settled it). Two calls: the
    // SDK refuses an undefined second argument.
    const traced = tracedSend<EmailRequest>(ctx);
    if (traced) ctx.serviceSendClient(emailSenderApi).send(email, traced);
    else ctx.serviceSendClient(emailSenderApi).send(email);
  }

  async function announceRefunded(ctx: restate.ObjectContext, order: RefundableOrder, reason: string, cents: number, by: string) {
    refundedEmail(ctx, order, reason, cents);
    await publishAfterSale(ctx, {
      ...orderSteps.refunded,
      message: reason,
      data: { refundedCents: cents, currency: order.currency, operator: by },
    });
  }

  return { publishAfterSale, announceRefunded };
}

export type RefundNotices = ReturnType<typeof createRefundNotices>;
