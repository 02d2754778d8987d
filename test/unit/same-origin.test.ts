/**
 * The cross-site write check: which header combinations a browser sends for a same-origin form, a
 * typed URL, another site's page, a sibling subdomain or an old browser, and which of them pass;
 * the allow-listed paths; and that reads are never checked.
 */
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import Koa from "koa";
import pino from "pino";
import type { AppState } from "../../web/app-state.ts";
import { crossSiteReason, sameOriginWrites } from "../../web/middleware/same-origin.ts";

describe("crossSiteReason", () => {
  const host = "shop.example.com";
  const cases: Array<[string, { secFetchSite?: string; origin?: string }, boolean]> = [
    ["no headers (curl, scripts, very old browsers)", {}, true],
    ["a same-origin form", { secFetchSite: "same-origin", origin: "https://shop.example.com" }, true],
    ["a typed URL or bookmark", { secFetchSite: "none" }, true],
    ["Sec-Fetch-Site wins over a stale Origin", { secFetchSite: "same-origin", origin: "https://evil.example" }, true],
    ["another site's page", { secFetchSite: "cross-site", origin: "https://evil.example" }, false],
    ["a sibling subdomain", { secFetchSite: "same-site", origin: "https://blog.example.com" }, false],
    ["Sec-Fetch-Site in capitals", { secFetchSite: "Cross-Site" }, false],
    ["an old browser, same origin", { origin: "https://shop.example.com" }, true],
    ["an old browser, host in capitals", { origin: "https://SHOP.example.com" }, true],
    ["an old browser, another site", { origin: "https://evil.example" }, false],
    ["an old browser, another port", { origin: "https://shop.example.com:8443" }, false],
    ["Origin: null (sandboxed frame)", { origin: "null" }, false],
    ["a garbage Origin", { origin: "::::" }, false],
  ];
  for (const [what, headers, passes] of cases) {
    it(`${what}: ${passes ? "passes" : "refused"}`, () => {
      assert.equal(crossSiteReason(headers, host) === undefined, passes);
    });
  }
});

describe("sameOriginWrites", () => {
  async function serve() {
    const app = new Koa<AppState>();
    app.use(async (ctx, next) => {
      ctx.state.log = pino({ level: "silent" });
      try {
        await next();
      } catch (err) {
        ctx.status = (err as { status?: number }).status ?? 500;
        ctx.body = (err as Error).message;
      }
    });
    app.use(sameOriginWrites({ allowPaths: ["/unsubscribe", "/one-click/"] }));
    app.use((ctx) => {
      ctx.body = `ok ${ctx.method} ${ctx.path}`;
    });
    const server = http.createServer(app.callback());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return { url, close: () => new Promise((r) => server.close(r)) };
  }
  const evil = { origin: "https://evil.example", "sec-fetch-site": "cross-site" };

  it("refuses cross-site writes with 403, lets reads, same-origin writes and allow-listed paths through", async () => {
    const s = await serve();
    try {
      for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
        const res = await fetch(`${s.url}/orders`, { method, headers: evil });
        assert.equal(res.status, 403, method);
        assert.match(await res.text(), /another site/);
      }
      assert.equal((await fetch(`${s.url}/orders`, { headers: evil })).status, 200, "a cross-site GET is a link, not a write");
      const same = { origin: s.url, "sec-fetch-site": "same-origin" };
      assert.equal((await fetch(`${s.url}/orders`, { method: "POST", headers: same })).status, 200);
      assert.equal((await fetch(`${s.url}/orders`, { method: "POST" })).status, 200, "no headers: not a browser");
      assert.equal((await fetch(`${s.url}/unsubscribe`, { method: "POST", headers: evil })).status, 200, "allow-listed");
      assert.equal(
        (await fetch(`${s.url}/unsubscribe/x`, { method: "POST", headers: evil })).status,
        403,
        "an exact path is exact",
      );
      assert.equal(
        (await fetch(`${s.url}/one-click/a/b`, { method: "POST", headers: evil })).status,
        200,
        "a prefix ending in /",
      );
      assert.equal(
        (await fetch(`${s.url}/one-click`, { method: "POST", headers: evil })).status,
        403,
        "the prefix itself is not in it",
      );
    } finally {
      await s.close();
    }
  });
});
