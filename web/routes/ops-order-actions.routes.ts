/**
 * Operators acting on one order (operators only): cancel before shipping, through the order
 * workflow's own cancel handler; "ship now" during the shipping wait, through its dispatch handler;
 * and refund after fulfilment, through the OrderRefund object. Cancel and refund need a reason;
 * each is recorded with the operator's name ("Cancelled by the shop (name): why", "Shipped by the
 * shop (name)"). A refusal (shipped already, not waiting to ship, not fulfilled, refunded already)
 * is a 409 with the reason; bad input a 422; Restate not answering a 503 that says submitting
 * again is safe. The page opens with the dashboard's banner while a payment provider refuses our key.
 */
import Router, { type RouterContext } from "@koa/router";
import type { Context } from "koa";
import { v7 as uuidv7 } from "uuid";
import { z } from "zod";
import { orderIdSchema } from "../../shared/order.schema.ts";
import { RestateUnavailableError } from "../adapters/ingress.ts";
import type { ControlAnswer } from "../../worker/order-controls.handlers.ts";
import type { OperatorsRepo } from "../operators/operators.repo.ts";
import type { OrderRefundsClient } from "../adapters/order-refunds-client.ts";
import type { OrdersClient } from "../adapters/orders-client.ts";
import type { OrdersReadRepo } from "../adapters/orders-read.repo.ts";
import type { ProviderAlertsReadRepo } from "../adapters/provider-alerts-read.repo.ts";
import type { AppState } from "../app-state.ts";
import { redirectAfterPost } from "../claimed-submission.ts";
import { formBody } from "../middleware/form-body.ts";
import { signedInOperator } from "../operators/operator-gate.ts";
import { renderPage } from "../views/layout.view.ts";
import { opsOrderActionsPage, type OpsOrderActionsModel, type OrderAction } from "../views/ops-order-actions.view.ts";

export interface OpsOrderActionsDeps {
  orderStore: OrdersReadRepo;
  orders: OrdersClient;
  refunds: OrderRefundsClient;
  /** Where a cancel or "ship now" is recorded with the operator's name, before the workflow is asked. */
  accounts: OperatorsRepo;
  /** A provider refusing our key, shown above the order; absent = no banner. */
  providerAlerts?: ProviderAlertsReadRepo | undefined;
}

const reasonSchema = z.string().trim().min(1, "Give a reason: the customer sees it.").max(200, "At most 200 characters.");
const requestIdSchema = z.uuid("This form is not valid any more; reload the page.");

const NOTICES: Record<string, string> = {
  cancel: "Cancellation requested: the order is being cancelled, and the customer is told why.",
  refund: "Refunded: the customer's timeline and email say so.",
  refund_pending:
    "Refund made, not yet confirmed by the bank: the status below changes, and the customer is emailed, once it is.",
  dispatch: "Shipping now: the customer's timeline and the shipped email say so.",
};

export function cancelledBy(operator: string, reason: string): string {
  return `Cancelled by the shop (${operator}): ${reason}`;
}

export function opsOrderActionRoutes(deps: OpsOrderActionsDeps) {
  const router = new Router<AppState>();
  // The operator gate (web/operators/operator-gate.ts) let the request in; this is the name it found.
  const operator = signedInOperator;
  const form = formBody({ limitBytes: 4 * 1024 });

  async function orderOr404(ctx: RouterContext<AppState>) {
    const id = orderIdSchema.safeParse(ctx.params.id);
    const order = id.success ? await deps.orderStore.findOrder(id.data) : null;
    return order ?? ctx.throw(404, "We could not find that order.");
  }

  async function show(
    ctx: RouterContext<AppState>,
    status: number,
    m: Omit<OpsOrderActionsModel, "csrfToken" | "refundRequestId" | "order" | "alerts" | "notice">,
    /** What was just done (`?done=`): its notice, said from where the order now stands. */
    done?: string,
  ) {
    const [order, alerts] = await Promise.all([orderOr404(ctx), deps.providerAlerts?.active(ctx.state.log) ?? []]);
    const notice = done ? NOTICES[done === "refund" && order.status === "refund_pending" ? "refund_pending" : done] : undefined;
    ctx.status = status;
    ctx.set("Cache-Control", "no-store");
    ctx.type = "html";
    ctx.body = renderPage(
      ctx,
      opsOrderActionsPage({ ...m, notice, order, alerts, csrfToken: ctx.state.session.csrfToken, refundRequestId: uuidv7() }),
    );
  }

  const unavailable = (ctx: Context, action: OrderAction): never =>
    ctx.throw(
      503,
      action === "refund"
        ? "We could not confirm the refund with the order system. Submit the same form again: the order is refunded at most once."
        : `We could not reach the order system, so the order was not ${action === "dispatch" ? "shipped" : "cancelled"}. Please try again.`,
      { expose: true },
    );

  /**
   * One of the workflow's controls, sent for the operator: 303 to the order's page when accepted,
   * 409 with the workflow's own sentence when refused, 503 when Restate cannot be reached.
   */
  async function control(
    ctx: RouterContext<AppState>,
    c: { operator: string; orderId: string; action: "cancel" | "dispatch"; reason: string; by?: string; typed: string },
  ): Promise<void> {
    const record = await deps.accounts.recordAction(c.operator, c.orderId, c.action, c.typed.trim() || null);
    let answer: ControlAnswer;
    try {
      answer = await deps.orders.control(c.orderId, c.action, c.reason, c.by);
    } catch (err) {
      if (!(err instanceof RestateUnavailableError)) throw err;
      await deps.accounts.settleDecision(record, "unknown");
      ctx.state.log.error({ err, orderId: c.orderId }, `operator ${c.action} failed`);
      return unavailable(ctx, c.action);
    }
    await deps.accounts.settleDecision(record, answer.accepted ? "accepted" : "refused");
    ctx.state.log.info({ orderId: c.orderId, action: c.action, accepted: answer.accepted }, "operator action");
    if (!answer.accepted)
      return show(ctx, 409, { operator: c.operator, problem: { action: c.action, message: answer.message, reason: c.typed } });
    redirectAfterPost(ctx, `/ops/orders/${c.orderId}/actions?done=${c.action}`);
  }

  router.get("/ops/orders/:id/actions", async (ctx) => {
    const name = await operator(ctx);
    const done = typeof ctx.query.done === "string" && Object.hasOwn(NOTICES, ctx.query.done) ? ctx.query.done : undefined;
    await show(ctx, 200, { operator: name }, done);
  });

  router.post("/ops/orders/:id/cancel", form, async (ctx) => {
    const name = await operator(ctx);
    const order = await orderOr404(ctx);
    const typed = ctx.state.form.get("reason") ?? "";
    const reason = reasonSchema.safeParse(typed);
    if (!reason.success) {
      return show(ctx, 422, {
        operator: name,
        problem: { action: "cancel", message: reason.error.issues[0]?.message ?? "", reason: typed },
      });
    }
    return control(ctx, { operator: name, orderId: order.id, action: "cancel", reason: cancelledBy(name, reason.data), typed });
  });

  router.post("/ops/orders/:id/dispatch", form, async (ctx) => {
    const name = await operator(ctx);
    const order = await orderOr404(ctx);
    return control(ctx, { operator: name, orderId: order.id, action: "dispatch", reason: "", by: name, typed: "" });
  });

  router.post("/ops/orders/:id/refund", form, async (ctx) => {
    const name = await operator(ctx);
    const order = await orderOr404(ctx);
    const typed = ctx.state.form.get("reason") ?? "";
    const reason = reasonSchema.safeParse(typed);
    const requestId = requestIdSchema.safeParse(ctx.state.form.get("requestId") ?? "");
    if (!reason.success || !requestId.success) {
      const message = (reason.error ?? requestId.error)?.issues[0]?.message ?? "";
      return show(ctx, 422, { operator: name, problem: { action: "refund", message, reason: typed } });
    }
    let answer: ControlAnswer;
    try {
      answer = await deps.refunds.refund(order.id, { operator: name, reason: reason.data }, requestId.data);
    } catch (err) {
      if (!(err instanceof RestateUnavailableError)) throw err;
      ctx.state.log.error({ err, orderId: order.id }, "operator refund failed");
      return unavailable(ctx, "refund");
    }
    ctx.state.log.info({ orderId: order.id, action: "refund", accepted: answer.accepted }, "operator action");
    if (!answer.accepted)
      return show(ctx, 409, { operator: name, problem: { action: "refund", message: answer.message, reason: typed } });
    redirectAfterPost(ctx, `/ops/orders/${order.id}/actions?done=refund`);
  });

  return router;
}
