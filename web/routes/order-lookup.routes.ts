/**
 * "Email me my orders": rate limit (per session and client address) → validate (422 with field
 * messages) → per-address limit → hand the request to Restate → 303 to the same answer for every
 * address. Whether an address has orders is decided in the worker, after this answer: the
 * response, its timing and its wording are the same either way. The address is never logged.
 */
import { createHash } from "node:crypto";
import Router from "@koa/router";
import { v7 as uuidv7 } from "uuid";
import { orderLookupFormSchema } from "../../shared/order-lookup.schema.ts";
import { RestateUnavailableError } from "../adapters/ingress.ts";
import type { OrderLookupClient } from "../adapters/order-lookup-client.ts";
import type { RateLimiter } from "../adapters/rate-limiter.ts";
import type { AppState } from "../app-state.ts";
import { redirectAfterPost } from "../claimed-submission.ts";
import { fieldErrors, rejectForm } from "../form-rejection.ts";
import { formBody } from "../middleware/form-body.ts";
import { rateLimit } from "../middleware/rate-limit.ts";
import { renderPage } from "../views/layout.view.ts";
import { orderLookupPage, type OrderLookupErrors, type OrderLookupValues } from "../views/order-lookup.view.ts";

export interface OrderLookupRouteDeps {
  orderLookup: OrderLookupClient;
  limiter: RateLimiter;
  lookupsPerMinute: number;
  lookupsPerAddressPerHour: number;
}

export function orderLookupRoutes(deps: OrderLookupRouteDeps) {
  const router = new Router<AppState>();
  const limited = rateLimit({
    limiter: deps.limiter,
    name: "order-lookup",
    perMinute: deps.lookupsPerMinute,
    message: "You have asked for your orders too often. Please wait a minute and try again.",
  });

  router.get("/orders/find", (ctx) => {
    ctx.type = "html";
    ctx.body = renderPage(
      ctx,
      orderLookupPage({ lookupId: uuidv7(), email: "" }, ctx.state.session.csrfToken, { sent: ctx.query.sent === "1" }),
    );
  });

  router.post("/orders/find", formBody({ limitBytes: 4 * 1024 }), limited, async (ctx) => {
    const values: OrderLookupValues = {
      lookupId: ctx.state.form.get("lookupId") ?? "",
      email: ctx.state.form.get("email") ?? "",
    };
    const parsed = orderLookupFormSchema.safeParse(values);
    if (!parsed.success) {
      const errors: OrderLookupErrors = fieldErrors(parsed.error.issues, (path) =>
        path[0] === "lookupId" ? "lookupId" : "email",
      );
      const lookupId = errors.lookupId ? uuidv7() : values.lookupId;
      return rejectForm(ctx, orderLookupPage({ ...values, lookupId }, ctx.state.session.csrfToken, { errors }));
    }
    // Past the per-address limit the answer is the same, but nothing is sent: a stranger cannot
    // flood someone's inbox, nor learn from a different answer that somebody else asked.
    const address = createHash("sha256").update(parsed.data.email).digest("hex").slice(0, 32);
    const perAddress = await deps.limiter.hit(`order-lookup:addr:${address}`, deps.lookupsPerAddressPerHour, 3_600);
    if (perAddress.allowed) {
      try {
        await deps.orderLookup.requestLinks(parsed.data);
      } catch (err) {
        if (!(err instanceof RestateUnavailableError)) throw err;
        ctx.state.log.error({ err }, "order lookup not accepted");
        ctx.throw(503, "We could not send the email just now. Please try again in a moment.", { expose: true });
      }
    } else {
      ctx.state.log.info("order lookup over its per-address limit: nothing sent");
    }
    redirectAfterPost(ctx, "/orders/find?sent=1");
  });

  return router;
}
