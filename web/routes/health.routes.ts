/** Probes: `/live` (the process answers), `/ready` (dependencies reachable, cached), `/startup`. */
import Router from "@koa/router";
import type { AppState } from "../app-state.ts";

export type ReadinessCheck = () => Promise<Record<string, boolean>>;

export function healthRoutes(opts: { check: ReadinessCheck; cacheMs: number; draining?: (() => boolean) | undefined }) {
  const router = new Router<AppState>();
  let cached: { at: number; result: Record<string, boolean> } | null = null;

  router.get("/live", (ctx) => {
    ctx.body = { status: "ok" };
  });
  router.get("/startup", (ctx) => {
    ctx.body = { status: "started" };
  });
  router.get("/ready", async (ctx) => {
    if (opts.draining?.()) {
      ctx.status = 503;
      ctx.set("Cache-Control", "no-store");
      ctx.body = { status: "draining" };
      return;
    }
    if (!cached || Date.now() - cached.at > opts.cacheMs) cached = { at: Date.now(), result: await opts.check() };
    const ready = Object.values(cached.result).every(Boolean);
    ctx.status = ready ? 200 : 503;
    ctx.set("Cache-Control", "no-store");
    ctx.body = { status: ready ? "ready" : "not ready", checks: cached.result };
  });
  return router;
}
