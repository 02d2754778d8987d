/**
 * One run of OrderFulfilment: its steps as functions over one order, in the order the workflow's
 * `run` calls them (order-fulfilment.workflow.ts tells the story), and the saga they build as they
 * go: a step that takes something registers how to give it back, and `stop` gives back in reverse.
 * Every durable call happens in the same order as when this was one function, so journals written
 * before replay the same.
 */
import * as restate from "@restatedev/restate-sdk";
import type { PlaceOrderInput } from "../shared/order.schema.ts";
import { orderSteps } from "../shared/order-steps.ts";
import type { StoredOrder } from "./adapters/orders.repo.ts";
import type { Charge } from "./adapters/payment-provider.ts";
import { emailSenderApi } from "./email-sender.service.ts";
import { infraRetry, PermanentError } from "./errors.ts";
import { payOnHostedPage } from "./hosted-payment.ts";
import { STOPPING_STATE_KEY, type ApprovalDecision, type DispatchRequest } from "./order-controls.handlers.ts";
import type { OrderFulfilmentDeps, OrderResult, Placed } from "./order-fulfilment.types.ts";
import { orderPayments } from "./order-payments.ts";
import { OrderStop, outcomeOf } from "./order-stop.ts";
import { trackProgress, type StepMail } from "./progress-tracker.ts";
import { tracedSend } from "./tracing.ts";
import type { EmailRequest } from "./templates/email-templates.ts";

export function createOrderRun(ctx: restate.WorkflowContext, deps: OrderFulfilmentDeps) {
  const orderId = ctx.key;
  const orderUrl = new URL(`/orders/${orderId}`, deps.publicWebUrl).toString();
  const cancelRequest = ctx.promise<string>("cancel");
  const undo: Array<() => Promise<unknown>> = [];
  /** What the saga's last step tells the customer. */
  const told = { email: "", currency: "EUR", refundedCents: 0 };
  // An email the mail server did not take at once goes to EmailSender, one-way: it retries,
  // records and reports it, and one that cannot be delivered does not undo a paid order.
  // The order's own trace context (a journalled input header, so the same on every replay)
  // travels with each send: the email's SMTP span lands in the order's trace.
  const traced = tracedSend<EmailRequest>(ctx);
  // Two calls, not one with `traced` possibly undefined: the SDK refuses an undefined second argument.
  const notify = (req: EmailRequest) =>
    traced ? ctx.serviceSendClient(emailSenderApi).send(req, traced) : ctx.serviceSendClient(emailSenderApi).send(req);
  // Each email is tried once by the step that makes it due; EmailSender gets only those the mail
  // server did not take at once.
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
  const payments = orderPayments(deps, orderId, orderUrl);
  const stopIfCancelled = async () => {
    const reason = await cancelRequest.peek();
    if (reason !== undefined) throw new OrderStop("cancelled", reason || "Cancelled by the customer");
  };
  // Paid with the payment method the form sent (the local provider), the card is charged in the
  // first step, beside the order and its stock: nothing waits between them. On a provider's
  // hosted page, the customer pays after the first step instead.
  const byCard = !deps.payments.checkout;
  /** Set from journalled steps only, so a replay takes the same branch of the undo. */
  let captured = false;

  /**
   * The first step: the order and its stock in one statement (every line's units are taken, or
   * none are and the order is refused: stock.repo.ts; no call, no per-product queue), and, paid by
   * card, the charge. The new row carries the charge's claim, so a cancel written from then on
   * finds the charge under way: the saga refunds it.
   */
  async function place(input: PlaceOrderInput): Promise<Placed> {
    // Registered first, since the step may fail after it took the stock (a payment that keeps
    // failing); releasing is idempotent and gives back only what is held.
    let stockTaken: boolean | undefined = undefined;
    undo.push(() =>
      stockTaken === false ? Promise.resolve() : ctx.run("release stock", () => deps.stock.releaseOrder(orderId), infraRetry),
    );
    const placed = await progress.step<Placed>(byCard ? "place order" : "persist order", {
      action: async () => {
        const { order, stock } = await deps.orders.place(input, ctx.request().id, { claimCharge: byCard });
        return byCard && stock.reserved ? { order, stock, ...(await payments.payByCard(order)) } : { order, stock };
      },
      // The first event names the invocation, so a page built from the stream can link to it.
      after: ({ order, stock, charge, recorded }) => [
        { ...orderSteps.received, data: { invocationId: ctx.request().id } },
        orderSteps.persisted,
        ...(stock.reserved ? [orderSteps.reserved] : []),
        ...(charge && recorded !== false ? payments.record(order).after : []),
      ],
      retry: (byCard ? deps.paymentPolicy.retry : infraRetry) as restate.RunOptions<Placed>,
    });
    const { order, stock } = placed;
    stockTaken = stock.reserved;
    told.email = order.email;
    told.currency = order.currency;
    if (!stock.reserved) {
      const short = order.lines.filter((l) => stock.short.includes(l.sku)).map((l) => l.name);
      throw new OrderStop("rejected", short.length > 0 ? `Out of stock: ${short.join(", ")}` : "Out of stock");
    }
    if (placed.declined !== undefined) throw new OrderStop("rejected", placed.declined);
    return placed;
  }

  /**
   * The payment: charged by card in the first step, or on the provider's hosted page now; an order
   * an operator may still reject is only authorised, so rejecting it takes nothing.
   */
  async function pay(placed: Placed): Promise<Charge> {
    const { order } = placed;
    const needsApproval = payments.needsApproval(order);
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
    if (recorded) progress.mailBeside("send confirmation", payments.record(order).email);
    captured = paidAtOnce;
    undo.push(async () => {
      if (!captured) {
        await ctx.run(
          "cancel authorisation",
          () => deps.payments.cancel(payments.settlement(charge, "cancel")),
          deps.paymentPolicy.retry,
        );
        return;
      }
      await ctx.run("refund payment", () => deps.payments.refund(payments.refundOf(charge)), deps.paymentPolicy.retry);
      told.refundedCents = charge.amountCents;
    });
    // Paid on the hosted page, or by card with the record left undone by the first step (the
    // saga now knows the charge, and this step retries until PostgreSQL takes the record).
    if (!recorded) {
      // Paid on the page while a cancel was on its way: the saga gives the money back.
      await stopIfCancelled();
      const { write, after, email } = payments.record(order);
      await progress.step(needsApproval ? "record authorisation" : "record payment", {
        action: () => write(charge.providerRef),
        after,
      });
      progress.mailBeside("send confirmation", email);
    }
    return charge;
  }

  /** An authorised order waits for an operator; approved, the held amount is captured. */
  async function approval(order: StoredOrder, charge: Charge): Promise<void> {
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
        await deps.payments.capture(payments.settlement(charge, "capture"));
        await deps.orders.recordApproval(orderId, verdict, decision.by);
        await deps.orders.setStatus(orderId, "confirmed");
      },
      after: [
        decision.by ? { ...orderSteps.approved, message: `Approved by ${decision.by}` } : orderSteps.approved,
        orderSteps.confirmed,
      ],
    });
    captured = true;
    progress.mailBeside("send confirmation", payments.confirmation(order));
  }

  /** The wait for the shipping date, ended early by an operator's "ship now"; who shipped it, if one did. */
  async function shippingWait(): Promise<string | undefined> {
    if (deps.shippingDelayMs <= 0) return undefined;
    type ShippingWait = { end: "due" } | { end: "dispatched"; by?: string | undefined } | { end: "cancelled"; reason: string };
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
    return shipping.end === "dispatched" ? (shipping.by ?? "an operator") : undefined;
  }

  /**
   * The point of no return, decided by the order's row: it ships unless a cancel was written first
   * (the `cancel` control writes it; one of the two wins). From here on, cancel is refused.
   */
  async function ship(order: StoredOrder, shippedBy: string | undefined): Promise<OrderResult> {
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
  }

  /**
   * The saga: a rejection, a cancel or a permanent failure gives back what was taken, in reverse,
   * then records the outcome, tells the page and the customer, in one step.
   */
  async function stop(err: unknown): Promise<OrderResult> {
    if (!(err instanceof restate.TerminalError)) throw err;
    const outcome = outcomeOf(err);
    // The controls refuse from here on: the order is already on its way to its end.
    ctx.set(STOPPING_STATE_KEY, true);
    for (const step of undo.reverse()) await step();
    const { email, currency, refundedCents } = told;
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

  return { place, pay, needsApproval: payments.needsApproval, approval, shippingWait, ship, stop };
}
