/**
 * The readiness probe's own logic: a draining process answers 503 at once, without asking its
 * dependencies; otherwise dependency checks are cached for the configured time.
 */
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import Koa from "koa";
import { healthRoutes } from "../../web/routes/health.routes.ts";

async function serve(opts: Parameters<typeof healthRoutes>[0]) {
  const app = new Koa();
  app.use(healthRoutes(opts).routes());
  const server = http.createServer(app.callback());
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { get: (p: string) => fetch(url + p), close: () => new Promise((r) => server.close(r)) };
}

describe("health routes", () => {
  it("fails readiness first while draining, without checking dependencies", async () => {
    let draining = false;
    let checks = 0;
    const s = await serve({ check: () => Promise.resolve((checks++, { postgres: true })), cacheMs: 0, draining: () => draining });
    try {
      assert.equal((await s.get("/ready")).status, 200);
      draining = true;
      const res = await s.get("/ready");
      assert.equal(res.status, 503);
      assert.deepEqual(await res.json(), { status: "draining" });
      assert.equal(checks, 1);
      assert.equal((await s.get("/live")).status, 200, "liveness is unaffected: the process is fine");
    } finally {
      await s.close();
    }
  });

  it("answers 503 naming the dependency that is down, and caches checks", async () => {
    let checks = 0;
    const s = await serve({ check: () => Promise.resolve((checks++, { postgres: true, valkey: false })), cacheMs: 60_000 });
    try {
      const res = await s.get("/ready");
      assert.equal(res.status, 503);
      assert.deepEqual(await res.json(), { status: "not ready", checks: { postgres: true, valkey: false } });
      await s.get("/ready");
      assert.equal(checks, 1, "the second probe within the cache time reused the result");
    } finally {
      await s.close();
    }
  });
});
