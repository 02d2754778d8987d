/** An order's page, the customer's cancel button, and "My orders" for this browser session. */
import Router from "@koa/router";
import { orderIdSchema } from "../../shared/order.schema.ts";
import type { ResourceLinks } from "../../shared/resource-link.ts";
import type { OrdersReadRepo } from "../adapters/orders-read.repo.ts";
import { RestateUnavailableError } from "../adapters/ingress.ts";
import type { OrdersClient } from "../adapters/orders-client.ts";
import type { OperatorSessions } from "../operators/operator-sessions.ts";
import type { OwnershipStore } from "../adapters/ownership.store.ts";
import type { ProgressHub } from "../progress/progress-hub.ts";
import type { AppState } from "../app-state.ts";
import { idRoute } from "../id-route.ts";
import { accessLinks } from "../access-links.ts";
import { ownershipCheck, readAccessCheck } from "../ownership-check.ts";
import { redirectAfterPost } from "../claimed-submission.ts";
import { formBody } from "../middleware/form-body.ts";
import { currentOrderSnapshot } from "../progress/order-snapshot.ts";
import { renderPage } from "../views/layout.view.ts";
import { myOrdersPage } from "../views/my-orders.view.ts";
import { orderPage } from "../views/order-page.view.ts";

export interface OrderPageDeps {
  orderStore: OrdersReadRepo;
  orders: OrdersClient;
  ownership: OwnershipStore;
  hub: ProgressHub;
  /** A signed-in operator may read any order's page (read-only), e.g. from the console's order page. */
  operators?: OperatorSessions | undefined;
  links: ResourceLinks;
  restateUiUrl: string | undefined;
}

const NOT_FOUND = "We could not find that order.";

const NOTICES: Record<string, string> = {
  requested: "Cancellation requested: the order is being cancelled and anything charged will be refunded.",
  refused: "This order has already shipped or finished, so it can no longer be cancelled.",
};

export function orderPageRoutes(deps: OrderPageDeps) {
  const router = new Router<AppState>();

  const access = { ownership: deps.ownership, kind: "order", idSchema: orderIdSchema, notFound: NOT_FOUND } as const;
  const ownedOrder = ownershipCheck(access);
  const readableOrder = readAccessCheck({ ...access, operators: deps.operators });

  router.get("/orders", async (ctx) => {
    const ids = await deps.ownership.list("order", ctx.state.session.id);
    const orders = await deps.orderStore.listOrders({ ids });
    ctx.set("Cache-Control", "no-store");
    ctx.type = "html";
    ctx.body = renderPage(ctx, myOrdersPage(ids, orders));
  });

  const signedLink = accessLinks({ ...access, links: deps.links, pathOf: (id) => `/orders/${id}` });

  router.get(
    "/orders/:id",
    idRoute(access, signedLink, async (ctx) => {
      const { id: orderId, asOperator } = await readableOrder(ctx);
      // One read of the stream and one of the order serve both the page and its snapshot.
      const [order, events] = await Promise.all([
        deps.orderStore.findOrder(orderId),
        deps.hub.readSince({ kind: "order", id: orderId }, 0).catch(() => null),
      ]);
      const snapshot = await currentOrderSnapshot(deps, orderId, ctx.state.log, { events, row: order });
      ctx.set("Cache-Control", "no-store");
      ctx.type = "html";
      ctx.body = renderPage(
        ctx,
        orderPage({
          orderId,
          order,
          snapshot,
          events: events ?? [],
          restateUiUrl: deps.restateUiUrl,
          csrfToken: ctx.state.session.csrfToken,
          readOnly: asOperator,
          notice:
            typeof ctx.query.cancel === "string" && Object.hasOwn(NOTICES, ctx.query.cancel)
              ? NOTICES[ctx.query.cancel]
              : undefined,
        }),
      );
    }),
  );

  router.post("/orders/:id/cancel", formBody({ limitBytes: 4 * 1024 }), async (ctx) => {
    const orderId = await ownedOrder(ctx);
    let accepted: boolean;
    try {
      accepted = (await deps.orders.control(orderId, "cancel", "Cancelled by the customer")).accepted;
    } catch (err) {
      if (!(err instanceof RestateUnavailableError)) throw err;
      ctx.state.log.error({ err, orderId }, "cancel failed");
      return ctx.throw(503, "We could not reach the order system, so the order was not cancelled. Please try again.", {
        expose: true,
      });
    }
    redirectAfterPost(ctx, `/orders/${orderId}?cancel=${accepted ? "requested" : "refused"}`);
  });

  return router;
}
