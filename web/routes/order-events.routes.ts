/**
 * `GET /orders/:id/events`: the order's progress as SSE. A fresh client gets the durable snapshot
 * first; a reconnecting one (Last-Event-ID = seq) gets exactly the events it missed from the
 * stream. Live events follow, de-duplicated by seq; the stream ends after the terminal event.
 */
import Router from "@koa/router";
import { orderIdSchema } from "../../shared/order.schema.ts";
import { isTerminal, type ProgressEvent, type ProgressSnapshot } from "../../shared/progress-event.ts";
import type { CatalogRepo } from "../adapters/catalog.repo.ts";
import type { OrdersClient } from "../adapters/orders-client.ts";
import type { OwnershipStore } from "../adapters/ownership.store.ts";
import type { ProgressHub } from "../adapters/progress-hub.ts";
import type { AppState } from "../app-state.ts";
import { currentSnapshot } from "../order-snapshot.ts";
import { openSse } from "../sse-response.ts";
import { progressPanel } from "../views/order-page.view.ts";

export interface OrderEventsDeps {
  catalog: CatalogRepo;
  orders: OrdersClient;
  ownership: OwnershipStore;
  hub: ProgressHub;
  restateUiUrl: string | undefined;
  keepAliveMs: number;
  /** How long the browser waits before reconnecting when live delivery is unavailable. */
  retryMs?: number;
}

export function orderEventRoutes(deps: OrderEventsDeps) {
  const router = new Router<AppState>();

  router.get("/orders/:id/events", async (ctx) => {
    const id = orderIdSchema.safeParse(ctx.params.id);
    if (!id.success || !(await deps.ownership.owns("order", id.data, ctx.state.session.id))) {
      return ctx.throw(404, "We could not find that order.");
    }
    const orderId = id.data;
    const lastEventHeader = ctx.get("last-event-id").trim();
    if (lastEventHeader !== "" && !/^\d{1,9}$/.test(lastEventHeader))
      ctx.throw(400, "Last-Event-ID must be a progress sequence number.");
    const resumeFrom = lastEventHeader === "" ? null : Number(lastEventHeader);
    const resource = { kind: "order", id: orderId } as const;
    const log = ctx.state.log.child({ orderId });

    const sse = openSse(ctx, { keepAliveMs: deps.keepAliveMs });
    // The base of the rendered panel: the latest state the client has seen.
    let shown: ProgressSnapshot | null = null;
    let lastSeq = resumeFrom ?? 0;
    const pending: ProgressEvent[] = [];
    let replaying = true;

    const deliver = (e: ProgressEvent) => {
      if (sse.closed || e.seq <= lastSeq) return;
      lastSeq = e.seq;
      shown = { ...(shown ?? { invocationId: null }), ...e };
      sse.send({ event: "progress", id: e.seq, data: progressPanel(shown, deps.restateUiUrl).value });
      if (isTerminal(e)) finish();
    };
    const finish = () => {
      sse.send({ event: "done", data: "done" });
      sse.end();
    };

    let unsubscribe: (() => void) | null = null;
    sse.onClose(() => unsubscribe?.());
    try {
      unsubscribe = await deps.hub.subscribe(resource, (e) => (replaying ? pending.push(e) : deliver(e)));
    } catch (err) {
      log.warn({ err }, "live progress unavailable; sending the snapshot only");
    }

    // The snapshot tells a fresh client where things stand, and tells every client the invocation.
    const snapshot = await currentSnapshot(deps, orderId, log);
    shown = snapshot;
    if (resumeFrom === null) {
      lastSeq = snapshot.seq;
      sse.send({ event: "progress", id: snapshot.seq, data: progressPanel(snapshot, deps.restateUiUrl).value });
      if (isTerminal(snapshot)) return finish();
    }
    if (!unsubscribe) {
      // Without Valkey the browser polls by reconnecting: it gets a fresh snapshot each time.
      sse.send({
        event: "progress",
        id: lastSeq,
        data: progressPanel(snapshot, deps.restateUiUrl).value,
        retryMs: deps.retryMs ?? 3_000,
      });
      return sse.end();
    }
    try {
      for (const e of await deps.hub.readSince(resource, lastSeq)) deliver(e);
      // A client resuming after the terminal event has nothing left to wait for.
      const newest = sse.closed ? null : await deps.hub.latest(resource);
      if (newest && isTerminal(newest) && newest.seq <= lastSeq) return finish();
    } catch (err) {
      log.warn({ err }, "could not replay progress from the stream");
    }
    replaying = false;
    for (const e of pending.splice(0)) deliver(e);
    if (!sse.closed && isTerminal(snapshot)) {
      // The terminal event may have been dropped from the stream; the snapshot still has it.
      if (lastSeq < snapshot.seq) deliver({ ...snapshot, kind: "terminal", at: snapshot.at ?? new Date().toISOString() });
      else finish();
    }
  });

  return router;
}
