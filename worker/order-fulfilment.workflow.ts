/**
 * OrderFulfilment (workflow, key = order id)
 *   1. persist order       the order and its lines at catalog prices (idempotent on the order id)
 *   2. reserve stock       Inventory.reserve for every line, in parallel (one object per SKU)
 *   3. charge payment      idempotency key `order:<id>:charge`
 *   4. confirmation email  EmailSender.send, idempotency key `order:<id>:confirmation`
 *   5. complete order
 * A permanent failure (unknown product, out of stock, declined card) releases what was reserved,
 * marks the order failed and ends the workflow with that reason. Every step publishes progress.
 */
import * as restate from "@restatedev/restate-sdk";
import { placeOrderInputSchema } from "../shared/order.schema.ts";
import { emptySnapshot, type ProgressSnapshot } from "../shared/progress-event.ts";
import type { OrdersRepo } from "./adapters/orders.repo.ts";
import type { PaymentProvider } from "./adapters/payment-provider.ts";
import type { ProgressPublisher } from "./adapters/progress-publisher.ts";
import { emailSenderApi } from "./email-sender.service.ts";
import { asTerminalError, infraRetry } from "./errors.ts";
import { inventoryApi } from "./inventory.object.ts";
import { SNAPSHOT_STATE_KEY, trackProgress } from "./progress-tracker.ts";

export interface OrderFulfilmentDeps {
  orders: OrdersRepo;
  payments: PaymentProvider;
  progress: ProgressPublisher;
  publicWebUrl: string;
}

export interface OrderOutcome {
  orderId: string;
  status: "completed";
  paymentRef: string;
}

export function createOrderFulfilmentWorkflow(deps: OrderFulfilmentDeps) {
  return restate.workflow({
    name: "OrderFulfilment",
    handlers: {
      run: restate.handlers.workflow.workflow(
        { input: restate.serde.schema(placeOrderInputSchema) },
        async (ctx: restate.WorkflowContext, input): Promise<OrderOutcome> => {
          const orderId = ctx.key;
          if (input.orderId !== orderId)
            throw new restate.TerminalError("The order id does not match the workflow key", { errorCode: 400 });
          const progress = trackProgress(ctx, { kind: "order", id: orderId }, deps.progress);
          const undo: Array<{ name: string; action: () => Promise<unknown> }> = [];

          await progress.emit({ kind: "step", step: "received", percent: 5, status: "running", message: "Order received" });
          try {
            const order = await ctx.run("persist order", () => deps.orders.create(input, ctx.request().id), infraRetry);
            await progress.emit({ kind: "step", step: "persisted", percent: 15, status: "running", message: "Order saved" });

            // allSettled, so a line that was reserved is released even when another line's call failed.
            const reservations = await restate.RestatePromise.allSettled(
              order.lines.map((l) => ctx.objectClient(inventoryApi, l.sku).reserve({ orderId, quantity: l.quantity })),
            );
            order.lines.forEach((l, i) => {
              const r = reservations[i];
              if (r?.status === "fulfilled" && r.value.reserved) {
                undo.push({ name: `release ${l.sku}`, action: () => ctx.objectClient(inventoryApi, l.sku).release({ orderId }) });
              }
            });
            const failed = reservations.find((r) => r.status === "rejected");
            if (failed) throw failed.reason;
            const short = order.lines.filter((_, i) => {
              const r = reservations[i];
              return !(r?.status === "fulfilled" && r.value.reserved);
            });
            if (short.length > 0) {
              throw new restate.TerminalError(`Out of stock: ${short.map((l) => l.name).join(", ")}`, { errorCode: 409 });
            }
            await ctx.run("mark reserved", () => deps.orders.setStatus(orderId, "reserved"), infraRetry);
            await progress.emit({ kind: "step", step: "reserved", percent: 40, status: "running", message: "Stock reserved" });

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
            await progress.emit({ kind: "step", step: "paid", percent: 65, status: "running", message: "Payment taken" });

            await ctx.serviceClient(emailSenderApi).send({
              idempotencyKey: `order:${orderId}:confirmation`,
              to: order.email,
              template: "order-confirmation",
              data: {
                orderId,
                orderUrl: new URL(`/orders/${orderId}`, deps.publicWebUrl).toString(),
                totalCents: order.totalCents,
                currency: order.currency,
                lines: order.lines,
              },
            });
            await progress.emit({
              kind: "step",
              step: "emailed",
              percent: 90,
              status: "running",
              message: "Confirmation email sent",
            });

            await ctx.run("complete order", () => deps.orders.setStatus(orderId, "completed"), infraRetry);
            await progress.emit({
              kind: "terminal",
              step: "completed",
              percent: 100,
              status: "succeeded",
              message: "Order complete",
            });
            return { orderId, status: "completed", paymentRef: charge.providerRef };
          } catch (err) {
            if (!(err instanceof restate.TerminalError)) throw err;
            for (const step of undo.reverse()) await step.action();
            await ctx.run("mark failed", () => deps.orders.setStatus(orderId, "failed", err.message), infraRetry);
            await progress.emit({ kind: "terminal", step: "failed", percent: 100, status: "failed", message: err.message });
            throw err;
          }
        },
      ),

      status: restate.handlers.workflow.shared(
        async (ctx: restate.WorkflowSharedContext): Promise<ProgressSnapshot> =>
          (await ctx.get<ProgressSnapshot>(SNAPSHOT_STATE_KEY)) ?? emptySnapshot,
      ),
    },
    options: { asTerminalError, workflowRetention: { days: 7 } },
  });
}

export type OrderFulfilment = ReturnType<typeof createOrderFulfilmentWorkflow>;
export const orderFulfilmentApi: OrderFulfilment = { name: "OrderFulfilment" };
