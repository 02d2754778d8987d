/**
 * Signing in to and out of `/ops`: a name and password checked against the accounts (scrypt,
 * rate-limited), then a fresh session id granted the account. These are the only operator routes
 * the gate (operator-gate.ts) leaves open; everything else under /ops is behind it.
 */
import Router from "@koa/router";
import { operatorNameSchema } from "../../shared/operator.schema.ts";
import type { OwnershipStore } from "../adapters/ownership.store.ts";
import type { RateLimiter } from "../adapters/rate-limiter.ts";
import type { AppState } from "../app-state.ts";
import { rejectForm } from "../form-rejection.ts";
import { formBody } from "../middleware/form-body.ts";
import { rateLimit } from "../middleware/rate-limit.ts";
import { renderPage } from "../views/layout.view.ts";
import { opsLoginPage, type OpsLoginErrors } from "../views/ops.view.ts";
import type { OperatorSessions } from "./operator-sessions.ts";
import type { OperatorsRepo } from "./operators.repo.ts";

export interface OperatorSignInDeps {
  accounts: Pick<OperatorsRepo, "authenticate">;
  operators: Pick<OperatorSessions, "grant" | "revoke">;
  /** What the session owned before signing in moves to the new session id. */
  ownership: Pick<OwnershipStore, "transfer">;
  limiter: RateLimiter;
  loginsPerMinute: number;
}

export function operatorSignInRoutes(deps: OperatorSignInDeps) {
  const router = new Router<AppState>();
  const form = formBody({ limitBytes: 4 * 1024 });
  const loginLimit = rateLimit({
    limiter: deps.limiter,
    name: "ops-login",
    perMinute: deps.loginsPerMinute,
    message: "Too many sign-in attempts. Please wait a minute.",
  });

  router.post("/ops/login", form, loginLimit, async (ctx) => {
    const rawName = ctx.state.form.get("name") ?? "";
    const password = ctx.state.form.get("password") ?? "";
    const name = operatorNameSchema.safeParse(rawName);
    const errors: OpsLoginErrors = {};
    if (!name.success) errors.name = rawName.trim() === "" ? "Enter your operator name" : name.error.issues[0]!.message;
    if (password === "") errors.password = "Enter your password";
    else if (password.length > 1024) errors.password = "That password is too long";
    if (errors.name || errors.password)
      return rejectForm(ctx, opsLoginPage(ctx.state.session.csrfToken, { name: rawName, errors }));
    const operator = await deps.accounts.authenticate(name.data!, password);
    if (!operator) {
      // The attempted name is not logged: a password typed into the name field would be.
      ctx.state.log.info("operator sign-in refused");
      ctx.status = 401;
      ctx.type = "html";
      ctx.body = renderPage(ctx, opsLoginPage(ctx.state.session.csrfToken, { name: rawName, error: "Wrong name or password." }));
      return;
    }
    // A new session id at sign-in: a cookie planted in this browser beforehand never becomes an operator's.
    const before = ctx.state.session.id;
    const after = ctx.state.session.rotate();
    await deps.ownership.transfer(before, after);
    await deps.operators.grant(after, operator);
    ctx.state.log.info({ operator: operator.name }, "operator signed in");
    ctx.status = 303;
    ctx.redirect("/ops");
  });

  router.post("/ops/logout", form, async (ctx) => {
    await deps.operators.revoke(ctx.state.session.id);
    ctx.status = 303;
    ctx.redirect("/ops");
  });

  return router;
}
