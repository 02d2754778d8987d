/**
 * The stylesheet, icon and htmx scripts (from node_modules, never a CDN), read once and served
 * from memory under content-hashed names (`app.3f2a….css`) with a year-long immutable cache; a
 * new release changes the name, so browsers never run stale code. Pages link them via `assetUrl`.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import type { Middleware } from "koa";

const require = createRequire(import.meta.url);

const SOURCES: Record<string, { path: () => string; type: string }> = {
  "favicon.svg": { path: () => new URL("./public/favicon.svg", import.meta.url).pathname, type: "image/svg+xml" },
  "app.css": { path: () => new URL("./public/app.css", import.meta.url).pathname, type: "text/css; charset=utf-8" },
  "htmx.min.js": { path: () => require.resolve("htmx.org/dist/htmx.min.js"), type: "text/javascript; charset=utf-8" },
  "htmx-sse.js": { path: () => require.resolve("htmx-ext-sse/sse.js"), type: "text/javascript; charset=utf-8" },
};

interface Asset {
  url: string;
  body: Buffer;
  type: string;
  etag: string;
}

let loaded: Map<string, Asset> | null = null;

/** Read on first use, not at import: importing a module has no side effects. */
function assets(): Map<string, Asset> {
  loaded ??= new Map(
    Object.entries(SOURCES).map(([name, src]) => {
      const body = readFileSync(src.path());
      const hash = createHash("sha256").update(body).digest("hex").slice(0, 12);
      const ext = path.extname(name);
      return [name, { url: `/assets/${path.basename(name, ext)}.${hash}${ext}`, body, type: src.type, etag: `"${hash}"` }];
    }),
  );
  return loaded;
}

export function assetUrl(name: keyof typeof SOURCES): string {
  const a = assets().get(name);
  if (!a) throw new Error(`unknown asset ${name}`);
  return a.url;
}

export function staticAssets(): Middleware {
  const byUrl = new Map([...assets().values()].map((a) => [a.url, a]));
  return async (ctx, next) => {
    if (!ctx.path.startsWith("/assets/") || (ctx.method !== "GET" && ctx.method !== "HEAD")) {
      await next();
      return;
    }
    const asset = byUrl.get(ctx.path);
    if (!asset) {
      await next();
      return;
    }
    ctx.set("ETag", asset.etag);
    ctx.set("Cache-Control", "public, max-age=31536000, immutable");
    if (ctx.get("if-none-match") === asset.etag) {
      ctx.status = 304;
      return;
    }
    ctx.type = asset.type;
    ctx.body = asset.body;
  };
}
