/**
 * OrderFulfilment's shared handlers: the durable snapshot, and the controls people use while the
 * workflow runs. Each reads where the order stands from the workflow's snapshot (written once per
 * step), then resolves one of its durable promises.
 */
import * as restate from "@restatedev/restate-sdk";
import { z } from "zod";
import { operatorNameSchema } from "../shared/operator.schema.ts";
import { isCancellable, isShippedOrEnded } from "../shared/order-steps.ts";
import type { ProgressSnapshot } from "../shared/progress-event.ts";
import { DECLINES_HEARD, declinedPromise, paymentSignalPromise, paymentSignals } from "./hosted-payment.ts";
import { infraRetry } from "./errors.ts";
import { SNAPSHOT_STATE_KEY, snapshotHandler } from "./progress-tracker.ts";

export interface ApprovalDecision {
  decision: "approved" | "rejected" | "cancelled" | "timed_out";
  reason: string;
  /** The operator who approved or rejected (absent in decisions made before names were recorded). */
  by?: string | undefined;
}

/** An operator's "ship now": ends the shipping wait early. */
export interface DispatchRequest {
  /** The operator who asked: the order's timeline says who shipped it early. */
  by?: string | undefined;
}

export interface ControlAnswer {
  accepted: boolean;
  message: string;
}

/** Set when the order stops short of fulfilment: compensation is under way, the controls refuse. */
export const STOPPING_STATE_KEY = "stopping";

const paymentEventInput = z.object({ signal: z.enum([...paymentSignals, "declined"]), eventId: z.string().min(1).max(255) });
export type PaymentEventInput = z.output<typeof paymentEventInput>;
const reasonInput = z.object({ reason: z.string().trim().max(300).default("") });
const decisionInput = reasonInput.extend({ by: operatorNameSchema.optional() });
export type ControlInput = z.output<typeof decisionInput>;
/**
 * Steps before an order waits for approval. The order's row (what operators see) and its progress
 * events are written inside a step, and this snapshot just after it: a decision that arrives in
 * that moment, from an operator who saw the row or the page, is kept for the wait the workflow is
 * about to enter. On the provider's hosted page, the snapshot in that moment is the page's
 * (waiting for the payment, or for the bank to confirm it).
 */
const BEFORE_APPROVAL = new Set(["received", "persisted", "reserved", "awaiting_payment", "payment_processing", "authorized"]);

export interface OrderControlDeps {
  shippingWait: boolean;
  /** Writes a customer's cancel on the order's row, which the charge and ship steps read (orders.repo.ts). */
  requestCancel(orderId: string, reason: string): Promise<"requested" | "closed" | "unknown">;
}

export function orderControlHandlers(opts: OrderControlDeps) {
  const decide = (decision: "approved" | "rejected") =>
    restate.handlers.workflow.shared(
      { input: restate.serde.schema(decisionInput) },
      async (ctx: restate.WorkflowSharedContext, req): Promise<ControlAnswer> => {
        const snapshot = await ctx.get<ProgressSnapshot>(SNAPSHOT_STATE_KEY);
        const waitsOrWillWait = !snapshot || snapshot.step === "awaiting_approval" || BEFORE_APPROVAL.has(snapshot.step);
        if (!waitsOrWillWait || (await ctx.get<boolean>(STOPPING_STATE_KEY))) {
          return { accepted: false, message: "This order is not waiting for approval." };
        }
        const approval = ctx.promise<ApprovalDecision>("approval");
        if ((await approval.peek()) !== undefined) return { accepted: false, message: "This order was already decided." };
        await approval.resolve({ decision, reason: req.reason, by: req.by });
        return { accepted: true, message: decision === "approved" ? "Order approved." : "Order rejected." };
      },
    );

  return {
    status: snapshotHandler(),

    cancel: restate.handlers.workflow.shared(
      { input: restate.serde.schema(reasonInput) },
      async (ctx: restate.WorkflowSharedContext, req): Promise<ControlAnswer> => {
        const snapshot = await ctx.get<ProgressSnapshot>(SNAPSHOT_STATE_KEY);
        if ((snapshot && !isCancellable(snapshot)) || (await ctx.get<boolean>(STOPPING_STATE_KEY))) {
          return { accepted: false, message: "This order has already shipped or finished; it can no longer be cancelled." };
        }
        if ((await ctx.promise<DispatchRequest>("dispatch").peek()) !== undefined) {
          return { accepted: false, message: "This order is being shipped; it can no longer be cancelled." };
        }
        // The order's row decides against the ship step (one of the two wins); the promise then
        // wakes a workflow that waits (for approval, for its shipping date, on the payment page).
        const reason = req.reason || "Cancelled by the customer";
        const asked = await ctx.run("request cancel", () => opts.requestCancel(ctx.key, reason), infraRetry);
        if (asked === "unknown") return { accepted: false, message: "This order is still being placed; try again in a moment." };
        if (asked === "closed") {
          return { accepted: false, message: "This order has already shipped or finished; it can no longer be cancelled." };
        }
        const cancel = ctx.promise<string>("cancel");
        if ((await cancel.peek()) === undefined) await cancel.resolve(reason);
        return { accepted: true, message: "Cancellation requested." };
      },
    ),

    // Ends the shipping wait early, or has the order skip it once it gets there (the row says
    // "confirmed" a moment before this snapshot does): refused once the order shipped, ended, is
    // stopping or being cancelled, and when it has no wait at all (SHIPPING_DELAY_MS = 0).
    dispatch: restate.handlers.workflow.shared(
      { input: restate.serde.schema(decisionInput) },
      async (ctx: restate.WorkflowSharedContext, req): Promise<ControlAnswer> => {
        const snapshot = await ctx.get<ProgressSnapshot>(SNAPSHOT_STATE_KEY);
        const over = snapshot !== undefined && snapshot !== null && isShippedOrEnded(snapshot);
        if (over || !opts.shippingWait || (await ctx.get<boolean>(STOPPING_STATE_KEY))) {
          return { accepted: false, message: "This order is not waiting to ship: it cannot be shipped now." };
        }
        if ((await ctx.promise<string>("cancel").peek()) !== undefined)
          return { accepted: false, message: "This order is being cancelled: it cannot be shipped." };
        const dispatch = ctx.promise<DispatchRequest>("dispatch");
        if ((await dispatch.peek()) !== undefined) return { accepted: true, message: "Shipping was already requested." };
        await dispatch.resolve({ by: req.by });
        return { accepted: true, message: "Shipping now." };
      },
    ),

    // A webhook's wake-up (web/routes/stripe-webhooks.routes.ts): the order, if it is waiting for
    // its payment, asks the provider where it stands. Once per kind: a duplicate changes nothing.
    paymentEvent: restate.handlers.workflow.shared(
      { input: restate.serde.schema(paymentEventInput) },
      async (ctx: restate.WorkflowSharedContext, req): Promise<ControlAnswer> => {
        if (req.signal === "declined") {
          // The first of the numbered promises not yet resolved (one invocation per event id).
          for (let n = 0; n < DECLINES_HEARD; n++) {
            const attempt = ctx.promise<string>(declinedPromise(n));
            if ((await attempt.peek()) !== undefined) continue;
            await attempt.resolve(req.eventId);
            return { accepted: true, message: "The order checks its payment." };
          }
          return { accepted: true, message: "Heard; the order checks at its next turn." };
        }
        const promise = ctx.promise<string>(paymentSignalPromise(req.signal));
        if ((await promise.peek()) !== undefined) return { accepted: true, message: "Already heard." };
        await promise.resolve(req.eventId);
        return { accepted: true, message: "The order checks its payment." };
      },
    ),

    approve: decide("approved"),
    reject: decide("rejected"),
  };
}
