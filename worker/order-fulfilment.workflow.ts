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
 */
import * as restate from "@restatedev/restate-sdk";
import { placeOrderInputSchema } from "../shared/order.schema.ts";
import { orderSteps } from "../shared/order-steps.ts";
import type { OrdersRepo, StoredOrder } from "./adapters/orders.repo.ts";
import type { Charge, PaymentProvider } from "./adapters/payment-provider.ts";
import type { OrderReservation, StockRepo } from "./adapters/stock.repo.ts";
import type { ProgressPublisher } from "./adapters/progress-publisher.ts";
import type { Mailer } from "./adapters/smtp-mailer.ts";
import { emailSenderApi } from "./email-sender.service.ts";
import type { EmailRequest } from "./templates/email-templates.ts";
import { asTerminalError, infraRetry, PermanentError } from "./errors.ts";
import {
  orderControlHandlers,
  STOPPING_STATE_KEY,
  type ApprovalDecision,
  type DispatchRequest,
} from "./order-controls.handlers.ts";
import { OrderStop, outcomeOf, type OrderOutcome } from "./order-stop.ts";
import { trackProgress, type StepMail } from "./progress-tracker.ts";
import { payOnHostedPage, type HostedPaymentPolicy } from "./hosted-payment.ts";

export interface OrderFulfilmentDeps {
  orders: OrdersRepo;
  stock: StockRepo;
  payments: PaymentProvider;
  mailer: Mailer;
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
          const cancelRequest = ctx.promise<string>("cancel");
          const undo: Array<() => Promise<unknown>> = [];
          let refundedCents = 0;
          let email = "";
          let currency = "EUR";
          // An email the mail server did not take at once goes to EmailSender, one-way: it retries,
          // records and reports it, and one that cannot be delivered does not undo a paid order.
          // The order's own trace context (a journalled input header, so the same on every replay)
          // travels with each send: the email's SMTP span lands in the order's trace.
          const traceparent = ctx.request().headers.get("traceparent");
          const traced = traceparent ? restate.rpc.sendOpts<EmailRequest>({ headers: { traceparent } }) : undefined;
          const notify = (req: EmailRequest) =>
            traced ? ctx.serviceSendClient(emailSenderApi).send(req, traced) : ctx.serviceSendClient(emailSenderApi).send(req);
          // Each email is tried once by the step that makes it due; EmailSender gets only those the
          // mail server did not take at once.
          const mail: StepMail = {
            tryOnce: async (req) => {
              try {
                await deps.mailer.send(req);
                return true;
              } catch (err) {
                // A bounce (or a message that failed for good earlier) is on its row: no retry changes it.
                return err instanceof PermanentError;
              }
            },
            handOff: (req) => void notify(req),
          };
          const progress = trackProgress(ctx, { kind: "order", id: orderId }, deps.progress, mail);
          const stopIfCancelled = async () => {
            const reason = await cancelRequest.peek();
            if (reason !== undefined) throw new OrderStop("cancelled", reason || "Cancelled by the customer");
          };

          const confirmationOf = (order: StoredOrder): EmailRequest => ({
            idempotencyKey: `order:${orderId}:confirmation`,
            to: order.email,
            template: "order-confirmation",
            data: { orderId, orderUrl, totalCents: order.totalCents, currency: order.currency, lines: order.lines },
          });

          /**
           * What a payment makes true: an order that needs approval is authorised and waits for it;
           * any other is paid and confirmed, and its confirmation is sent by the same step.
           */
          const paymentRecord = (order: StoredOrder, needsApproval: boolean) => ({
            record: (ref: string) =>
              needsApproval ? deps.orders.markAwaitingApproval(orderId, ref) : deps.orders.confirmPaid(orderId, ref),
            after: needsApproval ? [orderSteps.authorized, orderSteps.awaitingApproval] : [orderSteps.paid, orderSteps.confirmed],
            email: needsApproval ? undefined : confirmationOf(order),
          });

          /** What the first step did: the order stored, its stock, and (paid by card) its payment. */
          type Placed = {
            order: StoredOrder;
            stock: OrderReservation;
            /** Charged, or only authorised for an order that needs approval. */
            charge?: Charge;
            /** Why the provider refused the payment (a declined card), when it did. */
            declined?: string;
            /** False when the charge went through but its record did not: a step of its own writes it. */
            recorded?: boolean;
          };
          const needsApprovalOf = (order: StoredOrder) => order.totalCents >= deps.approvalThresholdCents;
          // Paid with the payment method the form sent (the local provider), the card is charged in the
          // first step, beside the order and its stock: nothing waits between them. On a provider's
          // hosted page, the customer pays after the first step instead.
          const byCard = !deps.payments.checkout;

          /** The payment of an order paid by card, in the first step; a refusal is an outcome, not a failure. */
          const payByCard = async (order: StoredOrder): Promise<Pick<Placed, "charge" | "declined" | "recorded">> => {
            const needsApproval = needsApprovalOf(order);
            const payment = {
              idempotencyKey: `order:${orderId}:charge`,
              orderId,
              amountCents: order.totalCents,
              currency: order.currency,
              paymentMethod: order.paymentMethod,
            };
            let charge: Charge;
            try {
              charge = needsApproval ? await deps.payments.authorize(payment) : await deps.payments.charge(payment);
            } catch (err) {
              if (err instanceof PermanentError) return { declined: err.message };
              throw err;
            }
            // Once the money is taken, the step must end with the charge in its result, whatever
            // PostgreSQL does: retried to its (bounded) end, it would fail the order with the
            // charge unknown to the saga, and nothing would give the money back.
            try {
              await paymentRecord(order, needsApproval).record(charge.providerRef);
            } catch {
              return { charge, recorded: false };
            }
            return { charge, recorded: true };
          };

          try {
            // The first step: the order and its stock in one statement (every line's units are taken,
            // or none are and the order is refused: stock.repo.ts; no call, no per-product queue),
            // and, paid by card, the charge. The new row carries the charge's claim, so a cancel
            // written from then on finds the charge under way: the saga refunds it.
            // Registered first, since the step may fail after it took the stock (a payment that keeps
            // failing); releasing is idempotent and gives back only what is held.
            let stockTaken: boolean | undefined = undefined;
            undo.push(() =>
              stockTaken === false
                ? Promise.resolve()
                : ctx.run("release stock", () => deps.stock.releaseOrder(orderId), infraRetry),
            );
            const placed = await progress.step<Placed>(byCard ? "place order" : "persist order", {
              action: async () => {
                const { order, stock } = await deps.orders.place(input, ctx.request().id, { claimCharge: byCard });
                return byCard && stock.reserved ? { order, stock, ...(await payByCard(order)) } : { order, stock };
              },
              // The first event names the invocation, so a page built from the stream can link to it.
              after: ({ order, stock, charge, recorded }) => [
                { ...orderSteps.received, data: { invocationId: ctx.request().id } },
                orderSteps.persisted,
                ...(stock.reserved ? [orderSteps.reserved] : []),
                ...(charge && recorded !== false ? paymentRecord(order, needsApprovalOf(order)).after : []),
              ],
              retry: (byCard ? deps.paymentPolicy.retry : infraRetry) as restate.RunOptions<Placed>,
            });
            const { order, stock } = placed;
            stockTaken = stock.reserved;
            email = order.email;
            currency = order.currency;
            if (!stock.reserved) {
              const short = order.lines.filter((l) => stock.short.includes(l.sku)).map((l) => l.name);
              throw new OrderStop("rejected", short.length > 0 ? `Out of stock: ${short.join(", ")}` : "Out of stock");
            }
            if (placed.declined !== undefined) throw new OrderStop("rejected", placed.declined);

            // An order an operator may still reject is only authorised: rejecting it then takes nothing.
            const needsApproval = needsApprovalOf(order);
            // Before the payment page opens: the last moment a cancel costs the customer nothing.
            if (!byCard) await stopIfCancelled();
            const { charge, captured: paidAtOnce } = placed.charge
              ? { charge: placed.charge, captured: !needsApproval }
              : await payOnHostedPage(
                  ctx,
                  { checkout: deps.payments.checkout!, orders: deps.orders, progress, policy: deps.paymentPolicy },
                  { order, needsApproval, orderUrl, cancelRequest },
                );
            // The confirmation goes out beside the steps that follow: shipping does not wait for the mail server.
            // (A result journalled before `recorded` existed has a charge and no flag: it was recorded.)
            const recorded = placed.charge !== undefined && placed.recorded !== false;
            if (recorded) progress.mailBeside("send confirmation", paymentRecord(order, needsApproval).email);
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
            // Paid on the hosted page, or by card with the record left undone by the first step (the
            // saga now knows the charge, and this step retries until PostgreSQL takes the record).
            if (!recorded) {
              // Paid on the page while a cancel was on its way: the saga gives the money back.
              await stopIfCancelled();
              const { record, after, email } = paymentRecord(order, needsApproval);
              await progress.step(needsApproval ? "record authorisation" : "record payment", {
                action: () => record(charge.providerRef),
                after,
              });
              progress.mailBeside("send confirmation", email);
            }

            if (needsApproval) {
              const decision = await progress.alongside(
                restate.RestatePromise.race([
                  ctx.promise<ApprovalDecision>("approval").get(),
                  cancelRequest.get().map((reason): ApprovalDecision => ({ decision: "cancelled", reason: reason ?? "" })),
                  ctx.sleep(deps.approvalTimeoutMs).map((): ApprovalDecision => ({ decision: "timed_out", reason: "" })),
                ]),
              );
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
              progress.mailBeside("send confirmation", confirmationOf(order));
            }

            let shippedBy: string | undefined;
            if (deps.shippingDelayMs > 0) {
              type ShippingWait =
                { end: "due" } | { end: "dispatched"; by?: string | undefined } | { end: "cancelled"; reason: string };
              const shipping = await progress.alongside(
                restate.RestatePromise.race([
                  ctx.sleep(deps.shippingDelayMs).map((): ShippingWait => ({ end: "due" })),
                  ctx
                    .promise<DispatchRequest>("dispatch")
                    .get()
                    .map((d): ShippingWait => ({ end: "dispatched", by: d?.by })),
                  cancelRequest.get().map((reason): ShippingWait => ({ end: "cancelled", reason: reason ?? "" })),
                ]),
              );
              if (shipping.end === "cancelled") throw new OrderStop("cancelled", shipping.reason || "Cancelled by the customer");
              if (shipping.end === "dispatched") shippedBy = shipping.by ?? "an operator";
            }
            // The point of no return, decided by the order's row: it ships unless a cancel was
            // written first (the `cancel` control writes it; one of the two wins). From here on,
            // cancel is refused.
            const shipped = await progress.step("ship order", {
              action: () => deps.orders.ship(orderId),
              after: (r) =>
                r.shipped
                  ? [
                      shippedBy ? { ...orderSteps.shipped, message: `Shipped by the shop (${shippedBy})` } : orderSteps.shipped,
                      orderSteps.fulfilled,
                    ]
                  : [],
              email: (r) =>
                r.shipped
                  ? {
                      idempotencyKey: `order:${orderId}:shipped`,
                      to: order.email,
                      template: "order-shipped",
                      data: { orderId, orderUrl },
                    }
                  : undefined,
            });
            if (!shipped.shipped) throw new OrderStop("cancelled", shipped.reason || "Cancelled by the customer");
            await progress.mailSent();
            return { orderId, outcome: "fulfilled", reason: null };
          } catch (err) {
            if (!(err instanceof restate.TerminalError)) throw err;
            const outcome = outcomeOf(err);
            // The controls refuse from here on: the order is already on its way to its end.
            ctx.set(STOPPING_STATE_KEY, true);
            for (const step of undo.reverse()) await step();
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
              email: email
                ? {
                    idempotencyKey: `order:${orderId}:cancelled`,
                    to: email,
                    template: "order-cancelled",
                    data: { orderId, orderUrl, reason: err.message, refundedCents, currency },
                  }
                : undefined,
            });
            await progress.mailSent();
            if (outcome === "failed") throw err;
            return { orderId, outcome, reason: err.message };
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
export const orderFulfilmentApi: OrderFulfilment = { name: "OrderFulfilment" };
