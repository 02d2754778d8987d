/**
 * Operators' stock movements into Restate: a call to the worker's Stock service. The movement id
 * the form carries, with the product, is also the call's idempotency key, so a retried request is
 * the same invocation and the database records one movement either way. Only the worker's *types* are imported.
 */
import * as clients from "@restatedev/restate-sdk-clients";
import type { StockMovementInput, StockMovementResult } from "../../shared/stock-movement.schema.ts";
import type { Stock } from "../../worker/stock.service.ts";
import { RestateUnavailableError, callOptions, connectIngress } from "./ingress.ts";

const stock: Stock = { name: "Stock" };

/** The Stock service refused the movement for good (unknown product, a reused id): say why. */
export class StockMovementRefused extends Error {
  override name = "StockMovementRefused";
}

/** The message of a handler's TerminalError as the ingress reports it (a JSON body with `message`). */
function refusalOf(err: unknown): string | null {
  if (!(err instanceof clients.HttpCallError) || err.status < 400 || err.status >= 500) return null;
  try {
    const body = JSON.parse(err.responseText) as { message?: unknown };
    return typeof body.message === "string" ? body.message : err.message;
  } catch {
    return err.message;
  }
}

export function createStockClient(opts: { ingressUrl: string; timeoutMs?: number }) {
  const ingress = connectIngress(opts.ingressUrl);
  const timeout = opts.timeoutMs ?? 5_000;

  async function move(sku: string, req: StockMovementInput): Promise<StockMovementResult> {
    try {
      return await ingress
        .serviceClient(stock)
        .move(
          { ...req, sku },
          clients.rpc.opts({ ...callOptions(timeout), idempotencyKey: `stock-movement:${sku}:${req.movementId}` }),
        );
    } catch (err) {
      const refusal = refusalOf(err);
      if (refusal !== null) throw new StockMovementRefused(refusal, { cause: err });
      throw new RestateUnavailableError("Restate did not take the stock movement", { cause: err });
    }
  }

  return { move };
}
export type StockClient = ReturnType<typeof createStockClient>;
