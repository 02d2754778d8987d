/**
 * Operators' refunds into Restate: a call to the worker's OrderRefund object for the order. The
 * request id the refund form carries is the call's idempotency key, so a double submit or a retried
 * request is one invocation with one answer (and the refund itself is keyed by the order anyway).
 * Only the worker's *types* are imported.
 */
import * as clients from "@restatedev/restate-sdk-clients";
import type { ControlAnswer } from "../../worker/order-controls.handlers.ts";
import type { OrderRefund, ReconcileInput } from "../../worker/order-refund.object.ts";
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

  /**
   * The provider says an order's payment moved after the sale (a webhook): the order's object looks
   * (one-way; accepted once Restate has it). The event id is the idempotency key: a duplicate is
   * one invocation.
   */
  async function reconcile(orderId: string, eventId: string): Promise<void> {
    const input: ReconcileInput = { trigger: eventId, check: 0 };
    try {
      await ingress
        .objectSendClient(orderRefund, orderId)
        .reconcile(input, clients.rpc.sendOpts({ ...callOptions(timeout), idempotencyKey: `provider-event:${eventId}` }));
    } catch (err) {
      throw new RestateUnavailableError("Restate did not accept the payment event", { cause: err });
    }
  }

  return { refund, reconcile };
}
export type OrderRefundsClient = ReturnType<typeof createOrderRefundsClient>;
