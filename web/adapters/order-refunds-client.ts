/**
 * Operators' refunds into Restate: a call to the worker's OrderRefund object for the order. The
 * request id the refund form carries is the call's idempotency key, so a double submit or a retried
 * request is one invocation with one answer (and the refund itself is keyed by the order anyway).
 * Only the worker's *types* are imported.
 */
import * as clients from "@restatedev/restate-sdk-clients";
import type { ControlAnswer } from "../../worker/order-controls.handlers.ts";
import type { OrderRefund } from "../../worker/order-refund.object.ts";
import { RestateUnavailableError, callOptions, connectIngress } from "./ingress.ts";

const orderRefund: OrderRefund = { name: "OrderRefund" };

export function createOrderRefundsClient(opts: { ingressUrl: string; timeoutMs?: number }) {
  const ingress = connectIngress(opts.ingressUrl);
  // A refund waits for the payment provider: longer than a control, shorter than the request timeout.
  const timeout = opts.timeoutMs ?? 10_000;

  async function refund(orderId: string, req: { operator: string; reason: string }, requestId: string): Promise<ControlAnswer> {
    try {
      return await ingress
        .objectClient(orderRefund, orderId)
        .refund(req, clients.rpc.opts({ ...callOptions(timeout), idempotencyKey: `refund:${requestId}` }));
    } catch (err) {
      throw new RestateUnavailableError("Restate did not answer the refund", { cause: err });
    }
  }

  return { refund };
}
export type OrderRefundsClient = ReturnType<typeof createOrderRefundsClient>;
