/**
 * `/ops/stock` (operators only): restock or correct a product's stock. Each form carries a movement
 * id rendered with it; the change is a call to the worker's Stock service, which records the
 * movement with the operator's name and reason. The same change by the same operator again within
 * minutes, under a new movement id (browser Back restores the typed fields into a freshly rendered
 * form), is not recorded until the operator confirms it: 409 with "That change was already
 * recorded." and the form asking again. 422 with the form kept when the input is wrong,
 * 403 without an operator (the operator gate), 503 when Restate does not take it.
 */
import Router from "@koa/router";
import { v7 as uuidv7 } from "uuid";
import { skuSchema } from "../../shared/order.schema.ts";
import { stockFormSchema, type StockForm } from "../../shared/stock-movement.schema.ts";
import type { CatalogRepo } from "../adapters/catalog.repo.ts";
import { RestateUnavailableError } from "../adapters/ingress.ts";
import { StockMovementRefused, type StockClient } from "../adapters/stock-client.ts";
import type { StockMovementView, StockMovementsReadRepo } from "../adapters/stock-movements-read.repo.ts";
import type { AppState } from "../app-state.ts";
import { redirectAfterPost } from "../claimed-submission.ts";
import { fieldErrors, rejectForm } from "../form-rejection.ts";
import { formBody } from "../middleware/form-body.ts";
import { signedInOperator } from "../operators/operator-gate.ts";
import { renderPage } from "../views/layout.view.ts";
import { describeMovement, opsStockPage, type FailedStockForm, type OpsStockModel } from "../views/ops-stock.view.ts";

export interface OpsStockDeps {
  catalog: CatalogRepo;
  stock: StockClient;
  stockMovements: StockMovementsReadRepo;
}

const FIELDS = ["movementId", "units", "count", "reason"] as const;

/** How long after a movement the same one again is taken for a repeat to confirm. */
const REPEAT_WINDOW_SECONDS = 10 * 60;

const ALREADY_RECORDED = "That change was already recorded.";

function sameChange(m: StockMovementView, f: StockForm): boolean {
  if (m.reason !== f.reason) return false;
  return f.kind === "restock" ? m.kind === "restock" && m.delta === f.units : m.kind === "correction" && m.stockAfter === f.count;
}

export function opsStockRoutes(deps: OpsStockDeps) {
  const router = new Router<AppState>();
  // The operator gate (web/operators/operator-gate.ts) let the request in; this is the name it found.
  const operator = signedInOperator;

  const model = async (
    base: Pick<OpsStockModel, "csrfToken" | "operator" | "notice" | "failed" | "repeat">,
  ): Promise<OpsStockModel> => {
    const [products, movements] = await Promise.all([deps.catalog.listProducts(), deps.stockMovements.recent(20)]);
    return { ...base, products, movements, newMovementId: () => uuidv7() };
  };

  router.get("/ops/stock", async (ctx) => {
    const name = await operator(ctx);
    const movementId = typeof ctx.query.movement === "string" ? ctx.query.movement : "";
    const moved = /^[0-9a-f-]{36}$/.test(movementId) ? await deps.stockMovements.find(movementId) : null;
    const notice = moved ? `${ctx.query.again === "1" ? `${ALREADY_RECORDED} ` : ""}${describeMovement(moved)}` : undefined;
    ctx.set("Cache-Control", "no-store");
    ctx.type = "html";
    ctx.body = renderPage(ctx, opsStockPage(await model({ csrfToken: ctx.state.session.csrfToken, operator: name, notice })));
  });

  router.post("/ops/stock/:sku", formBody({ limitBytes: 4 * 1024 }), async (ctx) => {
    const name = await operator(ctx);
    const sku = skuSchema.safeParse(ctx.params.sku);
    if (!sku.success || !(await deps.catalog.knownSkus()).has(sku.data)) return ctx.throw(404, "No such product.");
    const form = ctx.state.form;
    const kind = form.get("kind") === "correction" ? "correction" : "restock";
    const parsed = stockFormSchema.safeParse({ ...Object.fromEntries(form), kind });
    const values = () => Object.fromEntries(FIELDS.map((field) => [field, form.get(field) ?? ""]));
    const reject = async (errors: FailedStockForm["errors"]) => {
      const failed: FailedStockForm = { sku: sku.data, kind, values: values(), errors };
      rejectForm(ctx, opsStockPage(await model({ csrfToken: ctx.state.session.csrfToken, operator: name, failed })));
    };
    if (!parsed.success) return reject(fieldErrors(parsed.error.issues, (path) => String(path[0] ?? "reason")));
    const f = parsed.data;
    // Back, then submit again: Chromium restores what was typed into the freshly rendered form, new
    // movement id and all, so the id cannot catch it. The operator's own last change of this product,
    // made again moments later, is asked about first; confirming sends back the id it repeats.
    const last = await deps.stockMovements.lastBy(name, sku.data, REPEAT_WINDOW_SECONDS);
    if (last && last.movementId !== f.movementId && sameChange(last, f) && form.get("repeatOf") !== last.movementId) {
      ctx.state.log.info({ sku: sku.data, movementId: f.movementId, repeats: last.movementId }, "stock movement looks repeated");
      ctx.status = 409;
      ctx.type = "html";
      ctx.body = renderPage(
        ctx,
        opsStockPage(
          await model({
            csrfToken: ctx.state.session.csrfToken,
            operator: name,
            notice: `${ALREADY_RECORDED} ${describeMovement(last)}`,
            repeat: { sku: sku.data, kind, values: values(), of: last.movementId },
          }),
        ),
      );
      return;
    }
    const change =
      f.kind === "restock" ? ({ kind: "restock", units: f.units } as const) : ({ kind: "correction", count: f.count } as const);
    try {
      const result = await deps.stock.move(sku.data, { movementId: f.movementId, operator: name, reason: f.reason, change });
      ctx.state.log.info(
        { sku: sku.data, movementId: f.movementId, delta: result.delta, applied: result.applied },
        "stock moved",
      );
      redirectAfterPost(ctx, `/ops/stock?movement=${f.movementId}${result.applied ? "" : "&again=1"}`);
    } catch (err) {
      if (err instanceof StockMovementRefused) return reject({ movementId: err.message });
      if (!(err instanceof RestateUnavailableError)) throw err;
      ctx.state.log.error({ err, sku: sku.data }, "stock movement failed");
      ctx.throw(503, "We could not confirm the change with the inventory. Submit the same form again: it is counted once.", {
        expose: true,
      });
    }
  });

  return router;
}
