/**
 * Orders: the form, its submission (validate → claim the id for this session → submit the
 * workflow → redirect), and the order page.
 */
import Router from "@koa/router";
import { v7 as uuidv7 } from "uuid";
import { orderFormSchema, orderIdSchema, paymentMethods } from "../../shared/order.schema.ts";
import type { CatalogRepo } from "../adapters/catalog.repo.ts";
import { RestateUnavailableError, type OrdersClient } from "../adapters/orders-client.ts";
import type { OwnershipStore } from "../adapters/ownership.store.ts";
import type { AppState } from "../app-state.ts";
import { formBody } from "../middleware/form-body.ts";
import { currentSnapshot } from "../order-snapshot.ts";
import { renderPage } from "../views/layout.view.ts";
import { orderFormPage, type FieldErrors, type OrderFormValues } from "../views/order-form.view.ts";
import { orderPage } from "../views/order-page.view.ts";

export interface OrdersRouteDeps {
  catalog: CatalogRepo;
  orders: OrdersClient;
  ownership: OwnershipStore;
  restateUiUrl: string | undefined;
  formLimitBytes: number;
}

const QTY_FIELD = /^qty\[([^\]]{1,40})\]$/;

function readForm(form: URLSearchParams): OrderFormValues {
  const quantities: Record<string, string> = {};
  for (const [name, value] of form) {
    const sku = QTY_FIELD.exec(name)?.[1];
    if (sku !== undefined && !(sku in quantities)) quantities[sku] = value;
  }
  return {
    orderId: form.get("orderId") ?? "",
    email: form.get("email") ?? "",
    paymentMethod: form.get("paymentMethod") ?? "",
    quantities,
  };
}

function fieldName(path: PropertyKey[]): string {
  if (path[0] === "quantities" && path.length > 1) return `qty[${String(path[1])}]`;
  return String(path[0] ?? "form");
}

export function orderRoutes(deps: OrdersRouteDeps) {
  const router = new Router<AppState>();

  router.get("/orders/new", async (ctx) => {
    const products = await deps.catalog.listProducts();
    const preselect = typeof ctx.query.sku === "string" && products.some((p) => p.sku === ctx.query.sku) ? ctx.query.sku : null;
    const values: OrderFormValues = {
      orderId: uuidv7(),
      email: "",
      paymentMethod: Object.keys(paymentMethods)[0] ?? "",
      quantities: preselect ? { [preselect]: "1" } : {},
    };
    ctx.set("Cache-Control", "no-store");
    ctx.type = "html";
    ctx.body = renderPage(ctx, orderFormPage(products, values, ctx.state.session.csrfToken));
  });

  router.post("/orders", formBody({ limitBytes: deps.formLimitBytes }), async (ctx) => {
    const values = readForm(ctx.state.form);
    const products = await deps.catalog.listProducts();
    const known = new Set(products.map((p) => p.sku));
    const errors: FieldErrors = {};
    const parsed = orderFormSchema.safeParse(values);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) errors[fieldName(issue.path)] ??= issue.message;
    }
    const unknown = Object.keys(values.quantities).filter((sku) => !known.has(sku));
    if (unknown.length > 0) errors.quantities = `Unknown product: ${unknown.join(", ")}`;
    if (!parsed.success || Object.values(errors).some(Boolean)) {
      if (errors.orderId) values.orderId = uuidv7();
      for (const sku of Object.keys(values.quantities)) if (!known.has(sku)) delete values.quantities[sku];
      ctx.status = 422;
      ctx.type = "html";
      ctx.body = renderPage(ctx, orderFormPage(products, values, ctx.state.session.csrfToken, errors));
      return;
    }
    const input = parsed.data;
    const sessionId = ctx.state.session.id;
    if (!(await deps.ownership.claim("order", input.orderId, sessionId))) {
      ctx.throw(409, "This order was already placed from another browser session.");
    }
    try {
      const submitted = await deps.orders.submit(input);
      ctx.state.log.info(
        { orderId: input.orderId, invocationId: submitted.invocationId, again: submitted.alreadySubmitted },
        "order submitted",
      );
    } catch (err) {
      await deps.ownership.release("order", input.orderId, sessionId);
      if (err instanceof RestateUnavailableError) {
        ctx.state.log.error({ err, orderId: input.orderId }, "order submission failed");
        ctx.throw(503, "We could not reach the order system, so your order was not placed. Please try again in a moment.", {
          expose: true,
        });
      }
      throw err;
    }
    const location = `/orders/${input.orderId}`;
    if (ctx.get("hx-request") === "true") {
      ctx.set("HX-Redirect", location);
      ctx.status = 200;
      ctx.body = "";
      return;
    }
    ctx.status = 303;
    ctx.redirect(location);
  });

  router.get("/orders/:id", async (ctx) => {
    const id = orderIdSchema.safeParse(ctx.params.id);
    if (!id.success || !(await deps.ownership.owns("order", id.data, ctx.state.session.id))) {
      return ctx.throw(404, "We could not find that order.");
    }
    const orderId = id.data;
    const [snapshot, order] = await Promise.all([currentSnapshot(deps, orderId, ctx.state.log), deps.catalog.findOrder(orderId)]);
    ctx.set("Cache-Control", "no-store");
    ctx.type = "html";
    ctx.body = renderPage(ctx, orderPage(orderId, order, snapshot, deps.restateUiUrl));
  });

  return router;
}
