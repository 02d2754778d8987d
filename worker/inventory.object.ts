/**
 * Inventory (virtual object, key = SKU): the only writer of stock. Restate runs one exclusive
 * handler per SKU at a time and the SQL is conditional on stock, so nothing is ever oversold.
 *   reserve  take `quantity` units for an order (idempotent per order)
 *   release  give an order's units back (idempotent per order)
 *   move     an operator's restock or correction, recorded as a stock movement with who and why
 *            (idempotent per movement id, which the operator's form carries)
 *   available  shared read of the units left
 * reserve, release and available are ingress-private (only the order workflow calls them); the
 * web reaches `move` alone.
 */
import * as restate from "@restatedev/restate-sdk";
import { z } from "zod";
import { stockMovementInputSchema } from "../shared/stock-movement.schema.ts";
import type { InventoryRepo } from "./adapters/inventory.repo.ts";
import { asTerminalError, infraRetry } from "./errors.ts";

const reserveInput = z.object({ orderId: z.uuid(), quantity: z.number().int().min(1) });
const releaseInput = z.object({ orderId: z.uuid() });

export function createInventoryObject(deps: { inventory: InventoryRepo }) {
  return restate.object({
    name: "Inventory",
    handlers: {
      reserve: restate.handlers.object.exclusive(
        { input: restate.serde.schema(reserveInput), ingressPrivate: true },
        async (ctx: restate.ObjectContext, req) =>
          ctx.run("reserve stock", () => deps.inventory.reserve(ctx.key, req.orderId, req.quantity), infraRetry),
      ),
      release: restate.handlers.object.exclusive(
        { input: restate.serde.schema(releaseInput), ingressPrivate: true },
        async (ctx: restate.ObjectContext, req) =>
          ctx.run("release stock", () => deps.inventory.release(ctx.key, req.orderId), infraRetry),
      ),
      move: restate.handlers.object.exclusive(
        { input: restate.serde.schema(stockMovementInputSchema) },
        async (ctx: restate.ObjectContext, req) =>
          ctx.run("record stock movement", () => deps.inventory.move(ctx.key, req), infraRetry),
      ),
      available: restate.handlers.object.shared({ ingressPrivate: true }, async (ctx: restate.ObjectSharedContext) =>
        ctx.run("read stock", () => deps.inventory.available(ctx.key), infraRetry),
      ),
    },
    options: { asTerminalError },
  });
}

export type Inventory = ReturnType<typeof createInventoryObject>;
export const inventoryApi: Inventory = { name: "Inventory" };
