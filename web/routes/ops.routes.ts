/**
 * `/ops`: signed-in operators (web/operators/) see the orders awaiting approval and the order list (keyset pages, a status filter, search by order id
 * or email), and approve or reject. Each decision is recorded with the operator's name before the
 * workflow is asked, and the workflow shows that name in the order's timeline. A decision on an
 * order that does not exist is a 404, on one that is not waiting (decided, finished) a 409: neither
 * is recorded nor sent to the workflow. While a payment provider refuses our key, a banner above
 * it all says so. Who may see and do this is the operator gate's question
 * (web/operators/operator-gate.ts), asked before any route here.
 */
import Router from "@koa/router";
import { orderIdSchema } from "../../shared/order.schema.ts";
import type { OrdersReadRepo } from "../adapters/orders-read.repo.ts";
import type { OperatorsRepo } from "../operators/operators.repo.ts";
import type { ProviderAlertsReadRepo } from "../adapters/provider-alerts-read.repo.ts";
import { RestateUnavailableError } from "../adapters/ingress.ts";
import type { OrdersClient } from "../adapters/orders-client.ts";
import type { AppState } from "../app-state.ts";
import { rejectForm } from "../form-rejection.ts";
import { formBody } from "../middleware/form-body.ts";
import { signedInOperator } from "../operators/operator-gate.ts";
import { parseOrderListQuery } from "../order-list-query.ts";
import { renderPage } from "../views/layout.view.ts";
import { opsDashboardPage } from "../views/ops.view.ts";

export interface OpsDeps {
  orderStore: OrdersReadRepo;
  orders: OrdersClient;
  /** Where a decision is recorded with the operator's name, before the workflow is asked. */
  accounts: Pick<OperatorsRepo, "recordDecision" | "settleDecision">;
  restateUiUrl: string | undefined;
  /** A provider refusing our key, shown above everything; absent = no banner. */
  providerAlerts?: ProviderAlertsReadRepo | undefined;
}

/** Orders per page of the list; the live feed re-sends the first page at the same size. */
export const OPS_PAGE_SIZE = 50;

const NOTICES: Record<string, string> = {
  approve: "Order approved.",
  reject: "Order rejected.",
};

const NOT_WAITING = "That order is not waiting for a decision any more: it was decided, cancelled or has finished.";

export function opsRoutes(deps: OpsDeps) {
  const router = new Router<AppState>();
  const form = formBody({ limitBytes: 4 * 1024 });

  // Signed out, the gate answers this path with the sign-in form.
  router.get("/ops", async (ctx) => {
    ctx.set("Cache-Control", "no-store");
    ctx.type = "html";
    const operator = await signedInOperator(ctx);
    const csrfToken = ctx.state.session.csrfToken;
    const parsed = parseOrderListQuery(ctx.query);
    if (!parsed.ok && "badCursor" in parsed) return ctx.throw(400, parsed.badCursor);
    const [pending, page, alerts] = await Promise.all([
      deps.orderStore.listOrders({ status: "awaiting_approval" }),
      parsed.ok ? deps.orderStore.pageOrders(parsed.query, OPS_PAGE_SIZE) : null,
      deps.providerAlerts?.active(ctx.state.log) ?? [],
    ]);
    const notice =
      typeof ctx.query.done === "string" && Object.hasOwn(NOTICES, ctx.query.done) ? NOTICES[ctx.query.done] : undefined;
    const view = opsDashboardPage({
      operator,
      pending,
      page,
      filter: parsed.values,
      filterErrors: parsed.ok ? undefined : parsed.errors,
      csrfToken,
      restateUiUrl: deps.restateUiUrl,
      notice,
      alerts,
    });
    if (!parsed.ok) return rejectForm(ctx, view);
    ctx.body = renderPage(ctx, view);
  });

  // One path per decision, never `/ops/orders/:id/:action`: a catch-all there would answer the
  // order action routes' paths (ops-order-actions.routes.ts) whenever it was mounted first.
  for (const action of ["approve", "reject"] as const)
    router.post(`/ops/orders/:id/${action}`, form, async (ctx) => {
      const operator = await signedInOperator(ctx);
      const id = orderIdSchema.safeParse(ctx.params.id);
      if (!id.success) return ctx.throw(404, "No such order action.");
      // Asked before anything is recorded or sent: a workflow key that never existed must not be started.
      const order = await deps.orderStore.findOrder(id.data);
      if (!order) return ctx.throw(404, "We could not find that order.");
      if (order.status !== "awaiting_approval") return ctx.throw(409, NOT_WAITING);
      const decision = await deps.accounts.recordDecision(operator, id.data, action);
      if (decision === null) return ctx.throw(409, NOT_WAITING);
      let accepted: boolean;
      try {
        accepted = (await deps.orders.control(id.data, action, "", operator)).accepted;
      } catch (err) {
        if (!(err instanceof RestateUnavailableError)) throw err;
        await deps.accounts.settleDecision(decision, "unknown");
        ctx.state.log.error({ err, orderId: id.data, operator }, "operator decision failed");
        return ctx.throw(503, "We could not reach the order system; the decision may not have been taken. Please try again.", {
          expose: true,
        });
      }
      await deps.accounts.settleDecision(decision, accepted ? "accepted" : "refused");
      ctx.state.log.info({ orderId: id.data, action, accepted, operator }, "operator decision");
      // Refused: another decision (or a cancel) reached the order between our read and the workflow.
      if (!accepted) return ctx.throw(409, NOT_WAITING);
      ctx.status = 303;
      ctx.redirect(`/ops?done=${action}`);
    });

  return router;
}
