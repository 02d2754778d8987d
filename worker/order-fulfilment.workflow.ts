/**
 * OrderFulfilment (workflow, key = order id)
 *   1. place order         one statement stores the order and its lines at catalog prices, takes every
 *                          line's stock or none, and claims the charge (idempotent on the order id);
 *                          then, in the same step, the card is charged (`order:<id>:charge`; a decline
 *                          rejects the order), or only authorised for orders >= APPROVAL_THRESHOLD
 *      (on Stripe's hosted page: "persist order" stores the order and its stock, and the customer pays
 *      on the page after it: hosted-payment.ts, then "record payment" or "record authorisation")
 *   2. send confirmation   a step of its own beside what follows (`order:<id>:confirmation`)
 *   3. approval            authorised orders wait for an operator (durable promise), rejected
 *                          automatically after APPROVAL_TIMEOUT (durable timer); "record approval"
 *                          captures the held amount (`order:<id>:capture`) in the same step and records
 *                          who decided ("Approved by ana" in the timeline)
 *   4. shipping            durable sleep SHIPPING_DELAY, raced with a customer's cancel and an
 *                          operator's "ship now" (the `dispatch` promise: "Shipped by the shop (ana)"),
 *                          then the point of no return: ship order, which sends the shipped email
 * Saga: a rejection, a customer cancel (possible until shipping) or a permanent failure runs the
 * compensations in reverse (refund a captured charge, or cancel an authorisation that never was
 * captured: `order:<id>:cancel`; release stock), records the final status and reason, publishes a
 * terminal event and sends a cancellation email, in one step. Shared handlers: status, cancel, dispatch,
 * approve, reject.
 *
 * What one order costs is a design choice here (docs/performance.md has the account):
 *   - each step does its work, writes the order's status and publishes its progress events in one
 *     named `ctx.run`: one journal entry and one round trip to Restate per step; paid by card,
 *     nothing waits between storing the order and charging it, so they are one step;
 *   - the snapshot (the `status` handler's answer, and what the controls read) is written once per step;
 *   - stock is taken by the statement that stores the order: no call, no invocation, no queue per
 *     product (stock.repo.ts);
 *   - the confirmation runs beside the next step or wait, so shipping never waits for the mail
 *     server; the shipped and cancellation emails are sent inside the last steps, after their events,
 *     where they hold up nothing. Each email's idempotency key (the `emails` row) makes a re-run
 *     harmless; one the server does not take at once is handed to EmailSender (one-way), which keeps
 *     trying for a day: the only email that costs an invocation is one that could not be delivered;
 *   - a customer's cancel is written on the order's row by the `cancel` control and read where it
 *     can still change the outcome: the ship step is a statement that refuses to ship once it is
 *     written, and the waits for approval and for the shipping date race the `cancel` promise. A
 *     cancel cannot come before the charge's claim, written with the order. No checkpoint costs a
 *     round trip to Restate of its own.
 * The `run` handler below is the story; each step and the saga are functions in order-run.ts, the
 * order's money (charge, record, capture, cancel, refund) in order-payments.ts.
 */
import * as restate from "@restatedev/restate-sdk";
import { placeOrderInputSchema } from "../shared/order.schema.ts";
import { asTerminalError } from "./errors.ts";
import { orderControlHandlers } from "./order-controls.handlers.ts";
import type { OrderFulfilmentDeps, OrderResult } from "./order-fulfilment.types.ts";
import { createOrderRun } from "./order-run.ts";

export function createOrderFulfilmentWorkflow(deps: OrderFulfilmentDeps) {
  return restate.workflow({
    name: "OrderFulfilment",
    handlers: {
      // The story of one order; each step, and the saga that undoes them, is in order-run.ts.
      run: restate.handlers.workflow.workflow(
        { input: restate.serde.schema(placeOrderInputSchema) },
        async (ctx: restate.WorkflowContext, input): Promise<OrderResult> => {
          if (input.orderId !== ctx.key)
            throw new restate.TerminalError("The order id does not match the workflow key", { errorCode: 400 });
          const order = createOrderRun(ctx, deps);
          try {
            const placed = await order.place(input);
            const charge = await order.pay(placed);
            if (order.needsApproval(placed.order)) await order.approval(placed.order, charge);
            const shippedBy = await order.shippingWait();
            return await order.ship(placed.order, shippedBy);
          } catch (err) {
            return await order.stop(err);
          }
        },
      ),
      ...orderControlHandlers({
        shippingWait: deps.shippingDelayMs > 0,
        requestCancel: (orderId, reason) => deps.orders.requestCancel(orderId, reason),
      }),
    },
    options: { asTerminalError, workflowRetention: { days: 7 } },
  });
}

export type OrderFulfilment = ReturnType<typeof createOrderFulfilmentWorkflow>;
