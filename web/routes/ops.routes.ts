/**
 * `/ops`: operators sign in with the password from config (constant-time compare, rate-limited),
 * then see orders awaiting approval and all orders, and approve or reject.
 */
import Router from "@koa/router";
import { orderIdSchema } from "../../shared/order.schema.ts";
import type { OrdersReadRepo } from "../adapters/orders-read.repo.ts";
import { passwordMatches, type OperatorSessions } from "../adapters/operator-sessions.ts";
import { RestateUnavailableError } from "../adapters/ingress.ts";
import type { OrdersClient } from "../adapters/orders-client.ts";
import type { OwnershipStore } from "../adapters/ownership.store.ts";
import type { RateLimiter } from "../adapters/rate-limiter.ts";
import type { AppState } from "../app-state.ts";
import { formBody } from "../middleware/form-body.ts";
import { rateLimit } from "../middleware/rate-limit.ts";
import { renderPage } from "../views/layout.view.ts";
import { opsDashboardPage, opsLoginPage } from "../views/ops.view.ts";

export interface OpsDeps {
  orderStore: OrdersReadRepo;
  orders: OrdersClient;
  operators: OperatorSessions;
  ownership: OwnershipStore;
  limiter: RateLimiter;
  password: string;
  loginsPerMinute: number;
  restateUiUrl: string | undefined;
}

const NOTICES: Record<string, string> = {
  approve: "Order approved.",
  reject: "Order rejected.",
  refused: "That order was not waiting for a decision any more.",
};

export function opsRoutes(deps: OpsDeps) {
  const router = new Router<AppState>();
  const form = formBody({ limitBytes: 4 * 1024 });
  const loginLimit = rateLimit({
    limiter: deps.limiter,
    name: "ops-login",
    perMinute: deps.loginsPerMinute,
    message: "Too many sign-in attempts. Please wait a minute.",
  });

  router.get("/ops", async (ctx) => {
    ctx.set("Cache-Control", "no-store");
    ctx.type = "html";
    if (!(await deps.operators.isOperator(ctx.state.session.id))) {
      ctx.body = renderPage(ctx, opsLoginPage(ctx.state.session.csrfToken));
      return;
    }
    const [pending, orders] = await Promise.all([
      deps.orderStore.listOrders({ status: "awaiting_approval" }),
      deps.orderStore.listOrders({ limit: 100 }),
    ]);
    const notice =
      typeof ctx.query.done === "string" && Object.hasOwn(NOTICES, ctx.query.done) ? NOTICES[ctx.query.done] : undefined;
    ctx.body = renderPage(
      ctx,
      opsDashboardPage({ pending, orders, csrfToken: ctx.state.session.csrfToken, restateUiUrl: deps.restateUiUrl, notice }),
    );
  });

  router.post("/ops/login", form, loginLimit, async (ctx) => {
    if (!passwordMatches(ctx.state.form.get("password") ?? "", deps.password)) {
      ctx.status = 401;
      ctx.type = "html";
      ctx.body = renderPage(ctx, opsLoginPage(ctx.state.session.csrfToken, "Wrong password."));
      return;
    }
    // A new session id at sign-in: a cookie planted in this browser beforehand never becomes an operator's.
    const before = ctx.state.session.id;
    const after = ctx.state.session.rotate();
    await deps.ownership.transfer(before, after);
    await deps.operators.grant(after);
    ctx.status = 303;
    ctx.redirect("/ops");
  });

  router.post("/ops/logout", form, async (ctx) => {
    await deps.operators.revoke(ctx.state.session.id);
    ctx.status = 303;
    ctx.redirect("/ops");
  });

  router.post("/ops/orders/:id/:action", form, async (ctx) => {
    if (!(await deps.operators.isOperator(ctx.state.session.id))) return ctx.throw(403, "Sign in as an operator first.");
    const id = orderIdSchema.safeParse(ctx.params.id);
    const action = ctx.params.action;
    if (!id.success || (action !== "approve" && action !== "reject")) return ctx.throw(404, "No such order action.");
    let accepted: boolean;
    try {
      accepted = (await deps.orders.control(id.data, action, action === "reject" ? "not approved" : "")).accepted;
    } catch (err) {
      if (!(err instanceof RestateUnavailableError)) throw err;
      ctx.state.log.error({ err, orderId: id.data }, "operator decision failed");
      return ctx.throw(503, "We could not reach the order system; the decision was not recorded. Please try again.", {
        expose: true,
      });
    }
    ctx.state.log.info({ orderId: id.data, action, accepted }, "operator decision");
    ctx.status = 303;
    ctx.redirect(`/ops?done=${accepted ? action : "refused"}`);
  });

  return router;
}
