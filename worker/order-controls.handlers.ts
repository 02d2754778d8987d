/**
 * OrderFulfilment's shared handlers: the durable snapshot, and the controls people use while the
 * workflow runs. Each checks the workflow's phase, then resolves one of its durable promises.
 */
import * as restate from "@restatedev/restate-sdk";
import { z } from "zod";
import { snapshotHandler } from "./progress-tracker.ts";

export interface ApprovalDecision {
  decision: "approved" | "rejected" | "cancelled" | "timed_out";
  reason: string;
}

export interface ControlAnswer {
  accepted: boolean;
  message: string;
}

const reasonInput = z.object({ reason: z.string().trim().max(300).default("") });
const CANCELLABLE = new Set(["processing", "awaiting_approval", "preparing_shipment"]);

export function orderControlHandlers() {
  const decide = (decision: "approved" | "rejected") =>
    restate.handlers.workflow.shared(
      { input: restate.serde.schema(reasonInput) },
      async (ctx: restate.WorkflowSharedContext, req): Promise<ControlAnswer> => {
        if ((await ctx.get<string>("phase")) !== "awaiting_approval") {
          return { accepted: false, message: "This order is not waiting for approval." };
        }
        const approval = ctx.promise<ApprovalDecision>("approval");
        if ((await approval.peek()) !== undefined) return { accepted: false, message: "This order was already decided." };
        await approval.resolve({ decision, reason: req.reason });
        return { accepted: true, message: decision === "approved" ? "Order approved." : "Order rejected." };
      },
    );

  return {
    status: snapshotHandler(),

    cancel: restate.handlers.workflow.shared(
      { input: restate.serde.schema(reasonInput) },
      async (ctx: restate.WorkflowSharedContext, req): Promise<ControlAnswer> => {
        const phase = await ctx.get<string>("phase");
        if (phase === "shipped" || phase === "done" || phase === "compensating") {
          return { accepted: false, message: "This order has already shipped or finished; it can no longer be cancelled." };
        }
        if (phase !== null && !CANCELLABLE.has(phase)) return { accepted: false, message: "This order cannot be cancelled now." };
        const cancel = ctx.promise<string>("cancel");
        if ((await cancel.peek()) === undefined) await cancel.resolve(req.reason || "Cancelled by the customer");
        return { accepted: true, message: "Cancellation requested." };
      },
    ),

    approve: decide("approved"),
    reject: decide("rejected"),
  };
}
