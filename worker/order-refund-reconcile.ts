/**
 * OrderRefund's `reconcile` (worker/order-refund.object.ts), steps 3 to 5: what the provider's
 * refunds and disputes, read once by the handler, mean for the order. Each returns or moves the
 * order as it stands now, so the next one works from it. Runs inside the object's handler.
 */
import type * as restate from "@restatedev/restate-sdk";
import { formatMoney } from "../shared/money.ts";
import { isRefundable, orderSteps } from "../shared/order-steps.ts";
import type { OrderStatus } from "../shared/order.schema.ts";
import type { AfterSaleRepo, RefundableOrder } from "./adapters/after-sale.repo.ts";
import type { AfterSale } from "./adapters/payment-provider.ts";
import { infraRetry } from "./errors.ts";
import { REFUND_CHECKS, refundFailedLine, type RefundNotices } from "./order-refund-steps.ts";

export interface RefundReconcileDeps {
  orders: AfterSaleRepo;
  /** Who the order's row names for what happened outside the shop: "Stripe", or "the payment provider". */
  provider: string;
  notices: RefundNotices;
  /** Sends the pending refund's next check (the object to itself, later). */
  scheduleCheck: (ctx: restate.ObjectContext, check: number) => void;
}

export function createRefundReconcile(deps: RefundReconcileDeps) {
  const { provider, scheduleCheck } = deps;
  const { publishAfterSale, announceRefunded } = deps.notices;

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
        : refundFailedLine(now);
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
    if (!newest || !isRefundable(order.status)) return order;
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

  return { settleOurRefund, recordDashboardRefunds, followDisputes };
}
