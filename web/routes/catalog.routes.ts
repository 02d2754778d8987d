/** `GET /`: the catalog with stock. */
import Router from "@koa/router";
import type { CatalogRepo } from "../adapters/catalog.repo.ts";
import type { AppState } from "../app-state.ts";
import { catalogPage } from "../views/catalog.view.ts";
import { renderPage } from "../views/layout.view.ts";

export function catalogRoutes(deps: { catalog: CatalogRepo }) {
  const router = new Router<AppState>();
  router.get("/", async (ctx) => {
    ctx.type = "html";
    ctx.body = renderPage(ctx, catalogPage(await deps.catalog.listProducts()));
  });
  return router;
}
