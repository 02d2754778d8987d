/**
 * Stock (service): an operator's restock or correction from `/ops/stock`, recorded as a stock
 * movement with who made it and why. The movement id the form carries makes it idempotent twice
 * over: it is the call's idempotency key at the ingress, and the movement row's unique key.
 * An order's stock is not a call at all: OrderFulfilment reserves and releases it in its own steps
 * through the same repository (adapters/stock.repo.ts), one statement each.
 */
import * as restate from "@restatedev/restate-sdk";
import { stockMoveRequestSchema, type StockMovementResult } from "../shared/stock-movement.schema.ts";
import type { StockRepo } from "./adapters/stock.repo.ts";
import { asTerminalError, infraRetry } from "./errors.ts";

export function createStockService(deps: { stock: StockRepo }) {
  return restate.service({
    name: "Stock",
    handlers: {
      move: restate.handlers.handler(
        { input: restate.serde.schema(stockMoveRequestSchema) },
        async (ctx: restate.Context, req): Promise<StockMovementResult> => {
          const { sku, ...movement } = req;
          return ctx.run("record stock movement", () => deps.stock.move(sku, movement), infraRetry);
        },
      ),
    },
    options: { asTerminalError },
  });
}

export type Stock = ReturnType<typeof createStockService>;
