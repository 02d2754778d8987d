/**
 * "Email me my orders" into Restate: a one-way call to the worker's OrderLinks service, with an
 * idempotency key derived from the request, so a retried or double-submitted form sends one
 * message. Only the worker's *types* are imported.
 */
import * as clients from "@restatedev/restate-sdk-clients";
import { orderLookupKey, type OrderLookupRequest } from "../../shared/order-lookup.schema.ts";
import type { OrderLinks } from "../../worker/order-links.service.ts";
import { RestateUnavailableError, callOptions, connectIngress } from "./ingress.ts";

const orderLinks: OrderLinks = { name: "OrderLinks" };

export function createOrderLookupClient(opts: { ingressUrl: string; timeoutMs?: number }) {
  const ingress = connectIngress(opts.ingressUrl);
  const timeout = opts.timeoutMs ?? 5_000;

  /** Resolves once Restate has durably accepted the request; the lookup and the email happen in the worker. */
  async function requestLinks(req: OrderLookupRequest): Promise<void> {
    try {
      await ingress
        .serviceSendClient(orderLinks)
        .send(req, clients.rpc.sendOpts({ ...callOptions(timeout), idempotencyKey: orderLookupKey(req) }));
    } catch (err) {
      throw new RestateUnavailableError("Restate did not accept the order lookup", { cause: err });
    }
  }

  return { requestLinks };
}
export type OrderLookupClient = ReturnType<typeof createOrderLookupClient>;
