/** Serves the stylesheet and the htmx scripts (from node_modules, never a CDN) from memory. */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Middleware } from "koa";

const require = createRequire(import.meta.url);

const FILES: Record<string, { path: string; type: string }> = {
  "favicon.svg": { path: new URL("../public/favicon.svg", import.meta.url).pathname, type: "image/svg+xml" },
  "app.css": { path: new URL("../public/app.css", import.meta.url).pathname, type: "text/css; charset=utf-8" },
  "htmx.min.js": { path: require.resolve("htmx.org/dist/htmx.min.js"), type: "text/javascript; charset=utf-8" },
  "htmx-sse.js": { path: require.resolve("htmx-ext-sse/sse.js"), type: "text/javascript; charset=utf-8" },
};

export function staticAssets(): Middleware {
  const assets = new Map(
    Object.entries(FILES).map(([name, f]) => {
      const body = readFileSync(f.path);
      return [name, { body, type: f.type, etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 16)}"` }];
    }),
  );
  return async (ctx, next) => {
    if (!ctx.path.startsWith("/assets/")) return next();
    const asset = assets.get(ctx.path.slice("/assets/".length));
    if (!asset || (ctx.method !== "GET" && ctx.method !== "HEAD")) return next();
    ctx.set("ETag", asset.etag);
    ctx.set("Cache-Control", "public, max-age=3600");
    if (ctx.get("if-none-match") === asset.etag) {
      ctx.status = 304;
      return;
    }
    ctx.type = asset.type;
    ctx.body = asset.body;
  };
}
