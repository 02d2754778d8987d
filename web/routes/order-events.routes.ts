/** `GET /orders/:id/events`: the order's progress panel as SSE (see progress/progress-stream.ts). */
import Router from "@koa/router";
import { orderIdSchema } from "../../shared/order.schema.ts";
import type { OrdersReadRepo } from "../adapters/orders-read.repo.ts";
import type { OrdersClient } from "../adapters/orders-client.ts";
import type { OwnershipStore } from "../adapters/ownership.store.ts";
import type { ProgressHub } from "../progress/progress-hub.ts";
import type { AppState } from "../app-state.ts";
import type { SseStreams } from "../progress/sse-streams.ts";
import { currentOrderSnapshot } from "../progress/order-snapshot.ts";
import { progressRoute } from "../progress/progress-route.ts";
import { html } from "../../shared/html.ts";
import { progressPanel, timelineAppend } from "../views/order-page.view.ts";

export interface OrderEventsDeps {
  orderStore: OrdersReadRepo;
  orders: OrdersClient;
  ownership: OwnershipStore;
  hub: ProgressHub;
  restateUiUrl: string | undefined;
  keepAliveMs: number;
  sseStreams?: SseStreams | undefined;
}

export function orderEventRoutes(deps: OrderEventsDeps) {
  const router = new Router<AppState>();

  router.get(
    "/orders/:id/events",
    progressRoute({
      ...deps,
      kind: "order",
      idSchema: orderIdSchema,
      notFound: "We could not find that order.",
      logKey: "orderId",
      stream: (ctx, orderId, log) => ({
        loadSnapshot: () => currentOrderSnapshot(deps, orderId, log),
        render: (shown, event) => [
          {
            event: "progress",
            data: html`${progressPanel(shown, deps.restateUiUrl, { orderId, csrfToken: ctx.state.session.csrfToken })}${event ? timelineAppend(event) : ""}`
              .value,
          },
        ],
      }),
    }),
  );

  return router;
}
