/**
 * Placing an order: the form, and its submission (rate limit → validate → claim the id for this
 * session → submit the workflow → redirect to the order page).
 */
import Router from "@koa/router";
import { v7 as uuidv7 } from "uuid";
import { HOSTED_PAYMENT, orderFormSchema, paymentMethods } from "../../shared/order.schema.ts";
import type { CatalogRepo } from "../adapters/catalog.repo.ts";
import type { OrdersClient } from "../adapters/orders-client.ts";
import type { OwnershipStore } from "../adapters/ownership.store.ts";
import type { RateLimiter } from "../adapters/rate-limiter.ts";
import type { AppState } from "../app-state.ts";
import { submitClaimed } from "../claimed-submission.ts";
import { fieldErrors, rejectForm } from "../form-rejection.ts";
import { formBody } from "../middleware/form-body.ts";
import { rateLimit } from "../middleware/rate-limit.ts";
import { renderPage } from "../views/layout.view.ts";
import { orderFormPage, type FieldErrors, type OrderFormValues } from "../views/order-form.view.ts";

export interface OrdersRouteDeps {
  catalog: CatalogRepo;
  orders: OrdersClient;
  ownership: OwnershipStore;
  limiter: RateLimiter;
  ordersPerMinute: number;
  approvalThresholdCents: number;
  formLimitBytes: number;
  /** Stripe Checkout: the customer pays on Stripe's page, so the form carries no payment method. */
  hostedPayment?: boolean;
}

const QTY_FIELD = /^qty\[([^\]]{1,40})\]$/;

function readForm(form: URLSearchParams, hostedPayment: boolean): OrderFormValues {
  const quantities: Record<string, string> = {};
  for (const [name, value] of form) {
    const sku = QTY_FIELD.exec(name)?.[1];
    if (sku !== undefined && !(sku in quantities)) quantities[sku] = value;
  }
  return {
    orderId: form.get("orderId") ?? "",
    email: form.get("email") ?? "",
    // With a hosted page there is nothing to choose: whatever a crafted form says is not read.
    paymentMethod: hostedPayment ? HOSTED_PAYMENT : (form.get("paymentMethod") ?? ""),
    quantities,
  };
}

function fieldName(path: PropertyKey[]): string {
  if (path[0] === "quantities" && path.length > 1) return `qty[${String(path[1])}]`;
  return String(path[0] ?? "form");
}

export function orderRoutes(deps: OrdersRouteDeps) {
  const router = new Router<AppState>();
  // Built once: building the schema (and compiling its parser on first use) cost more CPU per POST
  // than parsing the form with it.
  const formSchema = orderFormSchema(deps.hostedPayment === true);

  router.get("/orders/new", async (ctx) => {
    const products = await deps.catalog.listProducts();
    const preselect = typeof ctx.query.sku === "string" && products.some((p) => p.sku === ctx.query.sku) ? ctx.query.sku : null;
    const values: OrderFormValues = {
      orderId: uuidv7(),
      email: "",
      paymentMethod: deps.hostedPayment ? HOSTED_PAYMENT : (Object.keys(paymentMethods)[0] ?? ""),
      quantities: preselect ? { [preselect]: "1" } : {},
    };
    ctx.set("Cache-Control", "no-store");
    ctx.type = "html";
    ctx.body = renderPage(
      ctx,
      orderFormPage(products, values, {
        csrfToken: ctx.state.session.csrfToken,
        approvalThresholdCents: deps.approvalThresholdCents,
        hostedPayment: deps.hostedPayment,
      }),
    );
  });

  const limited = rateLimit({
    limiter: deps.limiter,
    name: "orders",
    perMinute: deps.ordersPerMinute,
    message: "You are placing orders too quickly. Please wait a minute and try again.",
  });

  router.post("/orders", formBody({ limitBytes: deps.formLimitBytes }), limited, async (ctx) => {
    const values = readForm(ctx.state.form, deps.hostedPayment === true);
    const known = await deps.catalog.knownSkus();
    const parsed = formSchema.safeParse(values);
    const errors: FieldErrors = parsed.success ? {} : fieldErrors(parsed.error.issues, fieldName);
    const unknown = Object.keys(values.quantities).filter((sku) => !known.has(sku));
    if (unknown.length > 0) errors.quantities = `Unknown product: ${unknown.join(", ")}`;
    if (!parsed.success || Object.values(errors).some(Boolean)) {
      if (errors.orderId) values.orderId = uuidv7();
      for (const sku of Object.keys(values.quantities)) if (!known.has(sku)) delete values.quantities[sku];
      const products = await deps.catalog.listProducts();
      const opts = {
        csrfToken: ctx.state.session.csrfToken,
        approvalThresholdCents: deps.approvalThresholdCents,
        hostedPayment: deps.hostedPayment,
      };
      return rejectForm(ctx, orderFormPage(products, values, opts, errors));
    }
    const input = parsed.data;
    await submitClaimed(ctx, {
      ownership: deps.ownership,
      kind: "order",
      id: input.orderId,
      submit: () => deps.orders.submit(input),
      takenMessage: "This order was already placed from another browser session.",
      unavailableMessage: "We could not reach the order system, so your order was not placed. Please try again in a moment.",
      location: `/orders/${input.orderId}`,
    });
  });

  return router;
}
