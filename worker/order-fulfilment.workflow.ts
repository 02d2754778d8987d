/**
 * OrderFulfilment (workflow, key = order id)
 *   1. persist order       the order and its lines at catalog prices (idempotent on the order id)
 *   2. reserve stock       Inventory.reserve per line, in parallel (one virtual object per SKU)
 *   3. charge payment      idempotency key `order:<id>:charge`; a decline rejects the order.
 *      authorise payment   instead, for orders >= APPROVAL_THRESHOLD: the amount is only held (same key)
 *      (with Stripe, the customer pays on its hosted page instead: hosted-payment.ts, then "record
 *      payment" or "record authorisation")
 *   4. approval            those orders wait for an operator (durable promise), rejected automatically
 *                          after APPROVAL_TIMEOUT (durable timer); "record approval" captures the
 *                          held amount (`order:<id>:capture`) in the same step and records who
 *                          decided ("Approved by ana" in the timeline)
 *   5. confirmation email  queued to EmailSender (one-way), idempotency key `order:<id>:confirmation`
 *   6. shipping            durable sleep SHIPPING_DELAY, raced with a customer's cancel and an
 *                          operator's "ship now" (the `dispatch` promise: "Shipped by the shop (ana)"),
 *                          then the point of no return: ship order
 *   7. shipped email       queued (one-way); the order is fulfilled
 * Saga: a rejection, a customer cancel (possible until shipping) or a permanent failure runs the
 * compensations in reverse (refund a captured charge, or cancel an authorisation that never was
 * captured: `order:<id>:cancel`; release stock), queues a cancellation email, records the final
 * status and reason, and publishes a terminal event. Shared handlers: status, cancel, dispatch,
 * approve, reject.
 *
 * What one order costs is a design choice here (docs/performance.md has the account):
 *   - each step does its work, writes the order's status and publishes its progress events in one
 *     named `ctx.run`: one journal entry and one round trip to Restate per step, not three;
 *   - the snapshot (the `status` handler's answer, and what the controls read) is written once per step;
 *   - emails are one-way sends: their idempotency keys make a re-send harmless, and SMTP leaves the
 *     order's critical path (the email arrives moments later; the page says "email queued"). The two
 *     sends are independent invocations, so with a zero shipping delay the shipped email may be
 *     delivered before the confirmation; any real shipping delay keeps them in order;
 *   - a customer's cancel is read where it can still change the outcome: once before the card is
 *     charged and once before shipping (raced with the shipping timer and "ship now"), not between
 *     every step.
 */
import * as restate from "@restatedev/restate-sdk";
import { placeOrderInputSchema } from "../shared/order.schema.ts";
import { orderSteps } from "../shared/order-steps.ts";
import type { OrdersRepo, StoredOrder } from "./adapters/orders.repo.ts";
import type { Charge, PaymentProvider } from "./adapters/payment-provider.ts";
import type { ProgressPublisher } from "./adapters/progress-publisher.ts";
import { emailSenderApi } from "./email-sender.service.ts";
import type { EmailRequest } from "./templates/email-templates.ts";
import { asTerminalError, infraRetry } from "./errors.ts";
import { inventoryApi } from "./inventory.object.ts";
import {
  orderControlHandlers,
  STOPPING_STATE_KEY,
  type ApprovalDecision,
  type DispatchRequest,
} from "./order-controls.handlers.ts";
import { OrderStop, outcomeOf, type OrderOutcome } from "./order-stop.ts";
import { trackProgress } from "./progress-tracker.ts";
import { payOnHostedPage, type HostedPaymentPolicy } from "./hosted-payment.ts";

export interface OrderFulfilmentDeps {
  orders: OrdersRepo;
  payments: PaymentProvider;
  progress: ProgressPublisher;
  publicWebUrl: string;
  approvalThresholdCents: number;
  approvalTimeoutMs: number;
  shippingDelayMs: number;
  paymentPolicy: HostedPaymentPolicy;
}

export interface OrderResult {
  orderId: string;
  outcome: Exclude<OrderOutcome, "failed">;
  reason: string | null;
}

export function createOrderFulfilmentWorkflow(deps: OrderFulfilmentDeps) {
  return restate.workflow({
    name: "OrderFulfilment",
    handlers: {
      run: restate.handlers.workflow.workflow(
        { input: restate.serde.schema(placeOrderInputSchema) },
        async (ctx: restate.WorkflowContext, input): Promise<OrderResult> => {
          const orderId = ctx.key;
          if (input.orderId !== orderId)
            throw new restate.TerminalError("The order id does not match the workflow key", { errorCode: 400 });
          const orderUrl = new URL(`/orders/${orderId}`, deps.publicWebUrl).toString();
          const progress = trackProgress(ctx, { kind: "order", id: orderId }, deps.progress);
          const cancelRequest = ctx.promise<string>("cancel");
          const undo: Array<() => Promise<unknown>> = [];
          let refundedCents = 0;
          let email = "";
          let currency = "EUR";
          // Emails are notifications, queued one-way: EmailSender retries, records and reports each
          // one itself, and one that cannot be delivered does not undo a paid order.
          // The order's own trace context (a journalled input header, so the same on every replay)
          // travels with each send: the email's SMTP span lands in the order's trace.
          const traceparent = ctx.request().headers.get("traceparent");
          const traced = traceparent ? restate.rpc.sendOpts<EmailRequest>({ headers: { traceparent } }) : undefined;
          const notify = (req: EmailRequest) =>
            traced ? ctx.serviceSendClient(emailSenderApi).send(req, traced) : ctx.serviceSendClient(emailSenderApi).send(req);
          const stopIfCancelled = async () => {
            const reason = await cancelRequest.peek();
            if (reason !== undefined) throw new OrderStop("cancelled", reason || "Cancelled by the customer");
          };

          /**
           * What a payment makes true: an order that needs approval is authorised and waits for it;
           * any other is paid and confirmed (its email is queued next).
           */
          const paymentRecord = (needsApproval: boolean) => ({
            record: (ref: string) =>
              needsApproval ? deps.orders.markAwaitingApproval(orderId, ref) : deps.orders.confirmPaid(orderId, ref),
            after: needsApproval ? [orderSteps.authorized, orderSteps.awaitingApproval] : [orderSteps.paid, orderSteps.confirmed],
          });

          /** Charged by us with the payment method the form sent (the local provider): no page to visit. */
          const chargeCard = async (
            order: StoredOrder,
            needsApproval: boolean,
          ): Promise<{ charge: Charge; captured: boolean }> => {
            const payment = {
              idempotencyKey: `order:${orderId}:charge`,
              orderId,
              amountCents: order.totalCents,
              currency: order.currency,
              paymentMethod: order.paymentMethod,
            };
            const { record, after } = paymentRecord(needsApproval);
            const charge = await progress.step(needsApproval ? "authorise payment" : "charge payment", {
              before: [orderSteps.reserved],
              action: async () => {
                const c = needsApproval ? await deps.payments.authorize(payment) : await deps.payments.charge(payment);
                await record(c.providerRef);
                return c;
              },
              after,
              retry: deps.paymentPolicy.retry as restate.RunOptions<Charge>,
            });
            return { charge, captured: !needsApproval };
          };

          try {
            const order = await progress.step("persist order", {
              action: () => deps.orders.create(input, ctx.request().id),
              // The first event names the invocation, so a page built from the stream can link to it.
              after: [{ ...orderSteps.received, data: { invocationId: ctx.request().id } }, orderSteps.persisted],
              snapshot: false,
            });
            email = order.email;
            currency = order.currency;

            // allSettled, so a line that was reserved is released even when another line's call failed.
            const reservations = await restate.RestatePromise.allSettled(
              order.lines.map((l) => ctx.objectClient(inventoryApi, l.sku).reserve({ orderId, quantity: l.quantity })),
            );
            order.lines.forEach((l, i) => {
              const r = reservations[i];
              if (r?.status === "fulfilled" && r.value.reserved)
                undo.push(() => ctx.objectClient(inventoryApi, l.sku).release({ orderId }));
            });
            const failed = reservations.find((r) => r.status === "rejected");
            if (failed) throw failed.reason;
            const short = order.lines.filter((_, i) => {
              const r = reservations[i];
              return !(r?.status === "fulfilled" && r.value.reserved);
            });
            if (short.length > 0) throw new OrderStop("rejected", `Out of stock: ${short.map((l) => l.name).join(", ")}`);
            // The last moment a cancel costs the customer nothing: the card is not charged yet.
            await stopIfCancelled();

            // An order an operator may still reject is only authorised: rejecting it then takes nothing.
            const needsApproval = order.totalCents >= deps.approvalThresholdCents;
            const { charge, captured: paidAtOnce } = deps.payments.checkout
              ? await payOnHostedPage(
                  ctx,
                  { checkout: deps.payments.checkout, orders: deps.orders, progress, policy: deps.paymentPolicy },
                  { order, needsApproval, orderUrl, cancelRequest },
                )
              : await chargeCard(order, needsApproval);
            // Set from journalled steps only, so a replay takes the same branch of the undo below.
            let captured = paidAtOnce;
            const settlement = (op: "capture" | "cancel") => ({
              idempotencyKey: `order:${orderId}:${op}`,
              orderId,
              chargeRef: charge.providerRef,
              amountCents: charge.amountCents,
              currency: charge.currency,
            });
            undo.push(async () => {
              if (!captured) {
                await ctx.run("cancel authorisation", () => deps.payments.cancel(settlement("cancel")), deps.paymentPolicy.retry);
                return;
              }
              await ctx.run(
                "refund payment",
                () =>
                  deps.payments.refund({
                    idempotencyKey: `order:${orderId}:refund`,
                    orderId,
                    chargeRef: charge.providerRef,
                    amountCents: charge.amountCents,
                    currency: charge.currency,
                  }),
                deps.paymentPolicy.retry,
              );
              refundedCents = charge.amountCents;
            });
            if (deps.payments.checkout) {
              // Paid on the page while a cancel was on its way: the saga gives the money back.
              await stopIfCancelled();
              const { record, after } = paymentRecord(needsApproval);
              await progress.step(needsApproval ? "record authorisation" : "record payment", {
                action: () => record(charge.providerRef),
                after,
              });
            }

            if (needsApproval) {
              const decision = await restate.RestatePromise.race([
                ctx.promise<ApprovalDecision>("approval").get(),
                cancelRequest.get().map((reason): ApprovalDecision => ({ decision: "cancelled", reason: reason ?? "" })),
                ctx.sleep(deps.approvalTimeoutMs).map((): ApprovalDecision => ({ decision: "timed_out", reason: "" })),
              ]);
              const verdict = decision.decision;
              if (verdict === "cancelled") throw new OrderStop("cancelled", decision.reason || "Cancelled by the customer");
              if (verdict !== "approved") {
                await ctx.run("record approval", () => deps.orders.recordApproval(orderId, verdict, decision.by), infraRetry);
                if (verdict === "timed_out") throw new OrderStop("rejected", "No operator approved the order in time");
                throw new OrderStop(
                  "rejected",
                  `Rejected by ${decision.by ?? "an operator"}${decision.reason ? `: ${decision.reason}` : ""}`,
                );
              }
              // Capture first: if it cannot be captured, the approval is not recorded and the hold is released.
              await progress.step("record approval", {
                action: async () => {
                  await deps.payments.capture(settlement("capture"));
                  await deps.orders.recordApproval(orderId, verdict, decision.by);
                  await deps.orders.setStatus(orderId, "confirmed");
                },
                after: [
                  decision.by ? { ...orderSteps.approved, message: `Approved by ${decision.by}` } : orderSteps.approved,
                  orderSteps.confirmed,
                ],
              });
              captured = true;
            }

            notify({
              idempotencyKey: `order:${orderId}:confirmation`,
              to: order.email,
              template: "order-confirmation",
              data: { orderId, orderUrl, totalCents: order.totalCents, currency: order.currency, lines: order.lines },
            });

            let shippedBy: string | undefined;
            if (deps.shippingDelayMs > 0) {
              type ShippingWait =
                { end: "due" } | { end: "dispatched"; by?: string | undefined } | { end: "cancelled"; reason: string };
              const shipping = await restate.RestatePromise.race([
                ctx.sleep(deps.shippingDelayMs).map((): ShippingWait => ({ end: "due" })),
                ctx
                  .promise<DispatchRequest>("dispatch")
                  .get()
                  .map((d): ShippingWait => ({ end: "dispatched", by: d?.by })),
                cancelRequest.get().map((reason): ShippingWait => ({ end: "cancelled", reason: reason ?? "" })),
              ]);
              if (shipping.end === "cancelled") throw new OrderStop("cancelled", shipping.reason || "Cancelled by the customer");
              if (shipping.end === "dispatched") shippedBy = shipping.by ?? "an operator";
            } else {
              await stopIfCancelled();
            }
            // The point of no return: from here on, cancel is refused.
            await progress.step("ship order", {
              action: () => deps.orders.markFulfilled(orderId),
              after: [
                shippedBy ? { ...orderSteps.shipped, message: `Shipped by the shop (${shippedBy})` } : orderSteps.shipped,
                orderSteps.fulfilled,
              ],
            });
            notify({
              idempotencyKey: `order:${orderId}:shipped`,
              to: order.email,
              template: "order-shipped",
              data: { orderId, orderUrl },
            });
            return { orderId, outcome: "fulfilled", reason: null };
          } catch (err) {
            if (!(err instanceof restate.TerminalError)) throw err;
            const outcome = outcomeOf(err);
            // The controls refuse from here on: the order is already on its way to its end.
            ctx.set(STOPPING_STATE_KEY, true);
            for (const step of undo.reverse()) await step();
            if (email) {
              notify({
                idempotencyKey: `order:${orderId}:cancelled`,
                to: email,
                template: "order-cancelled",
                data: { orderId, orderUrl, reason: err.message, refundedCents, currency },
              });
            }
            await progress.step(`record ${outcome}`, {
              action: () => deps.orders.setStatus(orderId, outcome, err.message),
              after: [
                {
                  kind: "terminal",
                  step: outcome,
                  percent: 100,
                  status: outcome === "cancelled" ? "cancelled" : "failed",
                  message: err.message,
                  data: { outcome, refundedCents, currency },
                },
              ],
            });
            if (outcome === "failed") throw err;
            return { orderId, outcome, reason: err.message };
          }
        },
      ),
      ...orderControlHandlers({ shippingWait: deps.shippingDelayMs > 0 }),
    },
    options: { asTerminalError, workflowRetention: { days: 7 } },
  });
}

export type OrderFulfilment = ReturnType<typeof createOrderFulfilmentWorkflow>;
export const orderFulfilmentApi: OrderFulfilment = { name: "OrderFulfilment" };
