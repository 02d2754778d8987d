/** `GET /orders/:id/events`: the order's progress panel as SSE (see progress/progress-stream.ts). */
import Router from "@koa/router";
import { html } from "../../shared/html.ts";
import { orderIdSchema } from "../../shared/order.schema.ts";
import { isOrderSettled } from "../../shared/order-steps.ts";
import type { OrdersReadRepo } from "../adapters/orders-read.repo.ts";
import type { OrdersClient } from "../adapters/orders-client.ts";
import type { OperatorSessions } from "../operators/operator-sessions.ts";
import type { OwnershipStore } from "../adapters/ownership.store.ts";
import type { AppState } from "../app-state.ts";
import { currentOrderSnapshot, readOrderEvents, rowIsAhead, snapshotFromOrderRow } from "../progress/order-snapshot.ts";
import type { ProgressHub } from "../progress/progress-hub.ts";
import { progressRoute } from "../progress/progress-route.ts";
import type { ProgressStreamDeps, ProgressStreamKind } from "../progress/stream-kind.ts";
import { progressPanel, timelineAppend } from "../views/order-page.view.ts";

export interface OrderStreamDeps {
  orderStore: OrdersReadRepo;
  orders: OrdersClient;
  hub: ProgressHub;
  restateUiUrl: string | undefined;
}

export function orderStream(deps: OrderStreamDeps): ProgressStreamKind {
  return {
    kind: "order",
    route: "/orders/:id/events",
    idSchema: orderIdSchema,
    notFound: "We could not find that order.",
    logKey: "orderId",
    // Built from the order's stream as read after subscribing: a fresh client has nothing to replay.
    loadSnapshot: async (orderId, log) => {
      const events = await readOrderEvents(deps.hub, orderId, log);
      return { snapshot: await currentOrderSnapshot(deps, orderId, log, { events }), complete: events !== null };
    },
    // A fulfilled order may still be refunded: a page's stream (`?until=settled`) waits for that.
    settled: isOrderSettled,
    ahead: rowIsAhead,
    // A stream that hears nothing reads the row, which every step writes with its events.
    quiet: {
      kind: "order",
      storedStates: async (ids) => {
        const rows = await deps.orderStore.ordersProgress(ids);
        return new Map([...rows].map(([id, row]) => [id, snapshotFromOrderRow(row)]));
      },
    },
    render: ({ id, csrfToken, readOnly }, shown, event) => [
      {
        event: "progress",
        data: html`${progressPanel(shown, deps.restateUiUrl, readOnly ? undefined : { orderId: id, csrfToken })}${
          event ? timelineAppend(event) : ""
        }`.value,
      },
    ],
  };
}

export function orderEventRoutes(
  deps: ProgressStreamDeps & { ownership: OwnershipStore; operators?: OperatorSessions; orderStream: ProgressStreamKind },
) {
  const router = new Router<AppState>();
  // An operator may watch any order (read-only); the lean stream front serves owners, and hands operators here.
  router.get(deps.orderStream.route, progressRoute(deps.orderStream, deps, true));
  return router;
}
