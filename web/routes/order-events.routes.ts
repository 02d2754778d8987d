/** `GET /orders/:id/events`: the order's progress panel as SSE (see progress-stream.ts). */
import Router from "@koa/router";
import { orderIdSchema } from "../../shared/order.schema.ts";
import type { CatalogRepo } from "../adapters/catalog.repo.ts";
import type { OrdersClient } from "../adapters/orders-client.ts";
import type { OwnershipStore } from "../adapters/ownership.store.ts";
import type { ProgressHub } from "../adapters/progress-hub.ts";
import type { AppState } from "../app-state.ts";
import type { SseStreams } from "../sse-streams.ts";
import { currentSnapshot } from "../order-snapshot.ts";
import { streamProgress } from "../progress-stream.ts";
import { html } from "../../shared/html.ts";
import { progressPanel, timelineAppend } from "../views/order-page.view.ts";

export interface OrderEventsDeps {
  catalog: CatalogRepo;
  orders: OrdersClient;
  ownership: OwnershipStore;
  hub: ProgressHub;
  restateUiUrl: string | undefined;
  keepAliveMs: number;
  sseStreams?: SseStreams | undefined;
}

export function orderEventRoutes(deps: OrderEventsDeps) {
  const router = new Router<AppState>();

  router.get("/orders/:id/events", async (ctx) => {
    const id = orderIdSchema.safeParse(ctx.params.id);
    if (!id.success || !(await deps.ownership.owns("order", id.data, ctx.state.session.id))) {
      return ctx.throw(404, "We could not find that order.");
    }
    const orderId = id.data;
    const log = ctx.state.log.child({ orderId });
    await streamProgress(ctx, {
      resource: { kind: "order", id: orderId },
      hub: deps.hub,
      log,
      keepAliveMs: deps.keepAliveMs,
      streams: deps.sseStreams,
      loadSnapshot: () => currentSnapshot(deps, orderId, log),
      render: (shown, event) => [
        {
          event: "progress",
          data: html`${progressPanel(shown, deps.restateUiUrl, { orderId, csrfToken: ctx.state.session.csrfToken })}${event ? timelineAppend(event) : ""}`
            .value,
        },
      ],
    });
  });

  return router;
}
