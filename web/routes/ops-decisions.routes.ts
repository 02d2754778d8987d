/**
 * `GET /ops/decisions` (operators only, by the operator gate): what operators did, newest first,
 * paged by keyset like the order list (`after` older, `before` newer). A page link that is not one
 * of ours is a 400.
 */
import Router from "@koa/router";
import { parseDecisionCursor, type OperatorDecisionsReadRepo } from "../adapters/operator-decisions-read.repo.ts";
import type { AppState } from "../app-state.ts";
import { renderPage } from "../views/layout.view.ts";
import { opsDecisionsPage } from "../views/ops-decisions.view.ts";

export interface OpsDecisionsDeps {
  decisions: OperatorDecisionsReadRepo;
}

/** Rows per page of decisions. */
export const DECISIONS_PAGE_SIZE = 50;

const BAD_CURSOR = "That page link is not valid: start again from the newest decisions.";

export function opsDecisionsRoutes(deps: OpsDecisionsDeps, pageSize = DECISIONS_PAGE_SIZE) {
  const router = new Router<AppState>();

  router.get("/ops/decisions", async (ctx) => {
    const one = (k: string) => {
      const v = ctx.query[k];
      if (v === undefined) return undefined;
      const cursor = typeof v === "string" ? parseDecisionCursor(v) : null;
      return cursor ?? ctx.throw(400, BAD_CURSOR);
    };
    const [after, before] = [one("after"), one("before")];
    if (after && before) return ctx.throw(400, BAD_CURSOR);
    const page = await deps.decisions.page({ after, before }, pageSize);
    ctx.set("Cache-Control", "no-store");
    ctx.type = "html";
    ctx.body = renderPage(ctx, opsDecisionsPage(page));
  });

  return router;
}
