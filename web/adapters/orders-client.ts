/**
 * The web's only way into the order workflow: Restate's typed ingress client. Only the worker's
 * *types* are imported; the workflow runs in the worker process.
 */
import * as clients from "@restatedev/restate-sdk-clients";
import type { PlaceOrderInput } from "../../shared/order.schema.ts";
import type { ProgressSnapshot } from "../../shared/progress-event.ts";
import type { ControlAnswer, ControlInput, PaymentEventInput } from "../../worker/order-controls.handlers.ts";
import type { OrderFulfilment } from "../../worker/order-fulfilment.workflow.ts";
import { RestateUnavailableError, callOptions, connectIngress, snapshotOf, submitted, type Submitted } from "./ingress.ts";

const orderFulfilment: OrderFulfilment = { name: "OrderFulfilment" };

export function createOrdersClient(opts: { ingressUrl: string; timeoutMs?: number }) {
  const ingress = connectIngress(opts.ingressUrl);
  const timeout = opts.timeoutMs ?? 5_000;
  const order = (id: string) => ingress.workflowClient(orderFulfilment, id);

  /**
   * A control on a running order (cancel by the customer, approve/reject by an operator, or an
   * operator's "ship now" that ends the shipping wait). `by` is the operator's name: the order's
   * timeline says who decided.
   */
  async function control(
    orderId: string,
    action: "cancel" | "approve" | "reject" | "dispatch",
    reason = "",
    by?: string,
  ): Promise<ControlAnswer> {
    const wf = order(orderId);
    const o = clients.rpc.opts<ControlInput, ControlAnswer>(callOptions(timeout));
    try {
      if (action === "cancel") return await wf.cancel({ reason }, o);
      if (action === "approve") return await wf.approve({ reason, by }, o);
      if (action === "dispatch") return await wf.dispatch({ reason, by }, o);
      return await wf.reject({ reason, by }, o);
    } catch (err) {
      throw new RestateUnavailableError(`Restate did not take the ${action} request`, { cause: err });
    }
  }

  return {
    /** Starts the workflow; submitting the same order id again is a no-op that returns the same invocation. */
    submit: (input: PlaceOrderInput): Promise<Submitted> =>
      submitted("the order", order(input.orderId).workflowSubmit(input, clients.rpc.sendOpts(callOptions(timeout)))),
    /** The workflow's durable snapshot (seq 0 before its first step). */
    status: (orderId: string): Promise<ProgressSnapshot> =>
      snapshotOf(order(orderId).status(clients.rpc.opts(callOptions(timeout)))),
    control,
    /**
     * Hands a payment provider's event to the order, keyed by the event's id: Restate runs one
     * invocation per id, so a webhook delivered twice is one effect. Resolves once the order has
     * taken it (the provider is answered 2xx only then, and otherwise delivers it again).
     */
    async paymentEvent(orderId: string, input: PaymentEventInput): Promise<void> {
      try {
        await order(orderId).paymentEvent(
          input,
          clients.rpc.opts<PaymentEventInput, ControlAnswer>({ ...callOptions(timeout), idempotencyKey: input.eventId }),
        );
      } catch (err) {
        throw new RestateUnavailableError("Restate did not accept the payment event", { cause: err });
      }
    },
  };
}
export type OrdersClient = ReturnType<typeof createOrdersClient>;
