/**
 * OrderLinks (service): "email me my orders", for a customer on a device that did not place them.
 *   send   1. find recent orders   the address's newest orders (a named step)
 *          2. email                EmailSender.send, template order-links, idempotency key from the
 *                                  request (one form submission, one message); each link is signed
 *                                  as the message is rendered
 * An address without orders gets nothing: the web gave the same answer before any of this ran, so
 * nobody learns from it whether an address has ordered. The address is never logged.
 */
import * as restate from "@restatedev/restate-sdk";
import { orderLookupKey, orderLookupRequestSchema } from "../shared/order-lookup.schema.ts";
import type { OrdersRepo } from "./adapters/orders.repo.ts";
import { emailSenderApi } from "./email-sender.service.ts";
import { asTerminalError, infraRetry } from "./errors.ts";
import { MAX_LINKED_ORDERS } from "./templates/order-links.template.ts";

export interface OrderLinksDeps {
  orders: Pick<OrdersRepo, "recentForEmail">;
  publicWebUrl: string;
  /** Orders older than this are not linked (default a year). */
  withinDays?: number;
}

export interface OrderLinksResult {
  linked: number;
}

export function createOrderLinksService(deps: OrderLinksDeps) {
  const withinDays = deps.withinDays ?? 365;
  return restate.service({
    name: "OrderLinks",
    handlers: {
      send: restate.handlers.handler(
        { input: restate.serde.schema(orderLookupRequestSchema) },
        async (ctx: restate.Context, req): Promise<OrderLinksResult> => {
          const orders = await ctx.run(
            "find recent orders",
            () => deps.orders.recentForEmail(req.email, { limit: MAX_LINKED_ORDERS, days: withinDays }),
            infraRetry,
          );
          if (orders.length === 0) return { linked: 0 };
          const idempotencyKey = orderLookupKey(req);
          try {
            await ctx.serviceClient(emailSenderApi).send({
              idempotencyKey,
              to: req.email,
              template: "order-links",
              data: {
                orders: orders.map((o) => ({ ...o, orderUrl: new URL(`/orders/${o.orderId}`, deps.publicWebUrl).toString() })),
              },
            });
          } catch (err) {
            if (!(err instanceof restate.TerminalError)) throw err;
            // A bounce or a give-up is recorded on the email's row; the key names the request, not the address.
            ctx.console.warn(`email ${idempotencyKey} not delivered: ${err.message}`);
            return { linked: 0 };
          }
          return { linked: orders.length };
        },
      ),
    },
    options: { asTerminalError },
  });
}

export type OrderLinks = ReturnType<typeof createOrderLinksService>;
