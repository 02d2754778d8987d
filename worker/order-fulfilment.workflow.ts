/**
 * OrderFulfilment (workflow, key = order id)
 *   1. persist order       the order and its lines at catalog prices (idempotent on the order id)
 *   2. reserve stock       Inventory.reserve per line, in parallel (one virtual object per SKU)
 *   3. charge payment      idempotency key `order:<id>:charge`; a decline rejects the order
 *   4. approval            orders >= APPROVAL_THRESHOLD wait for an operator (durable promise),
 *                          rejected automatically after APPROVAL_TIMEOUT (durable timer)
 *   5. confirmation email  EmailSender, idempotency key `order:<id>:confirmation`
 *   6. shipping            durable sleep SHIPPING_DELAY, then the point of no return: shipped
 *   7. shipped email, fulfilled
 * Saga: a rejection, a customer cancel (possible until shipping) or a permanent failure runs the
 * compensations in reverse (refund, release stock), sends a cancellation email, records the final
 * status and reason, and publishes a terminal event. Shared handlers: status, cancel, approve, reject.
 */
import * as restate from "@restatedev/restate-sdk";
import { placeOrderInputSchema } from "../shared/order.schema.ts";
import type { OrdersRepo } from "./adapters/orders.repo.ts";
import type { PaymentProvider } from "./adapters/payment-provider.ts";
import type { ProgressPublisher } from "./adapters/progress-publisher.ts";
import { emailSenderApi } from "./email-sender.service.ts";
import type { EmailRequest } from "./templates/email-templates.ts";
import { asTerminalError, infraRetry } from "./errors.ts";
import { inventoryApi } from "./inventory.object.ts";
import { orderControlHandlers, type ApprovalDecision } from "./order-controls.handlers.ts";
import { OrderStop, outcomeOf, type OrderOutcome } from "./order-stop.ts";
import { trackProgress } from "./progress-tracker.ts";

export interface OrderFulfilmentDeps {
  orders: OrdersRepo;
  payments: PaymentProvider;
  progress: ProgressPublisher;
  publicWebUrl: string;
  approvalThresholdCents: number;
  approvalTimeoutMs: number;
  shippingDelayMs: number;
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
          const phase = (p: string) => ctx.set("phase", p);
          const undo: Array<() => Promise<unknown>> = [];
          let refundedCents = 0;
          let email = "";
          let currency = "EUR";
          // Emails are notifications: one that cannot be delivered does not undo a paid order.
          const notify = async (req: EmailRequest) => {
            try {
              await ctx.serviceClient(emailSenderApi).send(req);
              return true;
            } catch (err) {
              if (!(err instanceof restate.TerminalError)) throw err;
              ctx.console.warn(`email ${req.idempotencyKey} not delivered: ${err.message}`);
              return false;
            }
          };
          const stopIfCancelled = async () => {
            const reason = await cancelRequest.peek();
            if (reason !== undefined) throw new OrderStop("cancelled", reason || "Cancelled by the customer");
          };

          phase("processing");
          await progress.emit({ kind: "step", step: "received", percent: 5, status: "running", message: "Order received" });
          try {
            const order = await ctx.run("persist order", () => deps.orders.create(input, ctx.request().id), infraRetry);
            email = order.email;
            currency = order.currency;
            await progress.emit({ kind: "step", step: "persisted", percent: 15, status: "running", message: "Order saved" });
            await stopIfCancelled();

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
            await progress.emit(
              { kind: "step", step: "reserved", percent: 30, status: "running", message: "Stock reserved" },
              () => deps.orders.setStatus(orderId, "reserved"),
            );
            await stopIfCancelled();

            const charge = await ctx.run(
              "charge payment",
              async () => {
                const c = await deps.payments.charge({
                  idempotencyKey: `order:${orderId}:charge`,
                  orderId,
                  amountCents: order.totalCents,
                  currency: order.currency,
                  paymentMethod: order.paymentMethod,
                });
                await deps.orders.setStatus(orderId, "paid");
                return c;
              },
              infraRetry,
            );
            undo.push(async () => {
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
                infraRetry,
              );
              refundedCents = charge.amountCents;
            });
            await progress.emit({ kind: "step", step: "paid", percent: 45, status: "running", message: "Payment taken" });

            if (order.totalCents >= deps.approvalThresholdCents) {
              phase("awaiting_approval");
              await progress.emit(
                { kind: "step", step: "awaiting_approval", percent: 50, status: "waiting", message: "Awaiting approval" },
                () => deps.orders.markAwaitingApproval(orderId),
              );
              const decision = await restate.RestatePromise.race([
                ctx.promise<ApprovalDecision>("approval").get(),
                cancelRequest.get().map((reason): ApprovalDecision => ({ decision: "cancelled", reason: reason ?? "" })),
                ctx.sleep(deps.approvalTimeoutMs).map((): ApprovalDecision => ({ decision: "timed_out", reason: "" })),
              ]);
              phase("processing");
              const verdict = decision.decision;
              if (verdict === "cancelled") throw new OrderStop("cancelled", decision.reason || "Cancelled by the customer");
              await ctx.run("record approval", () => deps.orders.recordApproval(orderId, verdict), infraRetry);
              if (verdict === "timed_out") throw new OrderStop("rejected", "No operator approved the order in time");
              if (verdict === "rejected") {
                throw new OrderStop("rejected", `Rejected by an operator${decision.reason ? `: ${decision.reason}` : ""}`);
              }
              await progress.emit({ kind: "step", step: "approved", percent: 60, status: "running", message: "Approved" });
            }
            await stopIfCancelled();

            await notify({
              idempotencyKey: `order:${orderId}:confirmation`,
              to: order.email,
              template: "order-confirmation",
              data: { orderId, orderUrl, totalCents: order.totalCents, currency: order.currency, lines: order.lines },
            });
            await progress.emit(
              { kind: "step", step: "confirmed", percent: 70, status: "running", message: "Confirmed: preparing shipment" },
              () => deps.orders.setStatus(orderId, "confirmed"),
            );

            phase("preparing_shipment");
            if (deps.shippingDelayMs > 0) {
              const shipping = await restate.RestatePromise.race([
                ctx.sleep(deps.shippingDelayMs).map(() => null),
                cancelRequest.get().map((reason) => reason ?? ""),
              ]);
              if (shipping !== null) throw new OrderStop("cancelled", shipping || "Cancelled by the customer");
            } else {
              await stopIfCancelled();
            }
            // The point of no return: from here on, cancel is refused.
            phase("shipped");
            await progress.emit({ kind: "step", step: "shipped", percent: 90, status: "running", message: "Shipped" }, () =>
              deps.orders.markShipped(orderId),
            );
            await notify({
              idempotencyKey: `order:${orderId}:shipped`,
              to: order.email,
              template: "order-shipped",
              data: { orderId, orderUrl },
            });

            phase("done");
            await progress.emit(
              { kind: "terminal", step: "fulfilled", percent: 100, status: "succeeded", message: "Order fulfilled" },
              () => deps.orders.setStatus(orderId, "fulfilled"),
            );
            return { orderId, outcome: "fulfilled", reason: null };
          } catch (err) {
            if (!(err instanceof restate.TerminalError)) throw err;
            const outcome = outcomeOf(err);
            phase("compensating");
            for (const step of undo.reverse()) await step();
            if (email) {
              await notify({
                idempotencyKey: `order:${orderId}:cancelled`,
                to: email,
                template: "order-cancelled",
                data: { orderId, orderUrl, reason: err.message, refundedCents, currency },
              });
            }
            phase("done");
            await progress.emit(
              {
                kind: "terminal",
                step: outcome,
                percent: 100,
                status: outcome === "cancelled" ? "cancelled" : "failed",
                message: err.message,
                data: { outcome, refundedCents },
              },
              () => deps.orders.setStatus(orderId, outcome, err.message),
            );
            if (outcome === "failed") throw err;
            return { orderId, outcome, reason: err.message };
          }
        },
      ),
      ...orderControlHandlers(),
    },
    options: { asTerminalError, workflowRetention: { days: 7 } },
  });
}

export type OrderFulfilment = ReturnType<typeof createOrderFulfilmentWorkflow>;
export const orderFulfilmentApi: OrderFulfilment = { name: "OrderFulfilment" };
