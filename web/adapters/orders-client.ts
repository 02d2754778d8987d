/**
 * The web's only way into the worker: Restate's typed ingress client. Only the worker's *types*
 * are imported; the workflow runs in the worker process.
 */
import * as clients from "@restatedev/restate-sdk-clients";
import { traceHeaders } from "../../shared/telemetry.ts";
import type { PlaceOrderInput } from "../../shared/order.schema.ts";
import { progressSnapshotSchema, type ProgressSnapshot } from "../../shared/progress-event.ts";
import type { ControlAnswer } from "../../worker/order-controls.handlers.ts";
import type { OrderFulfilment } from "../../worker/order-fulfilment.workflow.ts";

const orderFulfilment: OrderFulfilment = { name: "OrderFulfilment" };

export class RestateUnavailableError extends Error {
  override name = "RestateUnavailableError";
}

export function createOrdersClient(opts: { ingressUrl: string; timeoutMs?: number }) {
  const ingress = clients.connect({ url: opts.ingressUrl, retry: { maxAttempts: 3 } });
  const timeout = opts.timeoutMs ?? 5_000;

  /** Starts the workflow; submitting the same order id again is a no-op that returns the same invocation. */
  async function submit(input: PlaceOrderInput): Promise<{ invocationId: string; alreadySubmitted: boolean }> {
    try {
      const sub = await ingress
        .workflowClient(orderFulfilment, input.orderId)
        .workflowSubmit(input, clients.rpc.sendOpts({ timeout, headers: traceHeaders() }));
      return { invocationId: sub.invocationId, alreadySubmitted: sub.status === "PreviouslyAccepted" };
    } catch (err) {
      throw new RestateUnavailableError("Restate did not accept the order", { cause: err });
    }
  }

  /** The workflow's durable snapshot (seq 0 before its first step). */
  async function status(orderId: string): Promise<ProgressSnapshot> {
    const raw = await ingress
      .workflowClient(orderFulfilment, orderId)
      .status(clients.rpc.opts({ timeout, headers: traceHeaders() }));
    return progressSnapshotSchema.parse(raw);
  }

  /** A control on a running order (cancel by the customer, approve/reject by an operator). */
  async function control(orderId: string, action: "cancel" | "approve" | "reject", reason = ""): Promise<ControlAnswer> {
    const wf = ingress.workflowClient(orderFulfilment, orderId);
    const opts = clients.rpc.opts<{ reason: string }, ControlAnswer>({ timeout, headers: traceHeaders() });
    try {
      if (action === "cancel") return await wf.cancel({ reason }, opts);
      if (action === "approve") return await wf.approve({ reason }, opts);
      return await wf.reject({ reason }, opts);
    } catch (err) {
      throw new RestateUnavailableError(`Restate did not take the ${action} request`, { cause: err });
    }
  }

  return { submit, status, control };
}
export type OrdersClient = ReturnType<typeof createOrdersClient>;
