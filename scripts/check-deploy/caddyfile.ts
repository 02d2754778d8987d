/**
 * deploy/Caddyfile, read by Caddy itself: `caddy validate` says whether Caddy accepts the file, and
 * our SSE rules are applied to the JSON config `caddy adapt` turns it into, so no grammar of our
 * own can drift from Caddy's. scripts/stack/system-packages.ts installs Caddy (Debian's `caddy`).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { z } from "zod";

/**
 * Directives the production image's Caddy (2.10, compose.prod.yaml) knows and Debian bookworm's
 * (2.6.2) does not, with the release that added each. An older Caddy validates the file without
 * these lines (each one is a timing option, not one of the rules below); a newer one sees them all.
 */
const NEWER_DIRECTIVES: Record<string, [number, number]> = { stream_close_delay: [2, 7] };

/** The `{$NAME}` / `{$NAME:default}` environment placeholders a Caddyfile reads. */
export const caddyPlaceholders = (text: string): string[] =>
  [...new Set([...text.matchAll(/\{\$([A-Za-z0-9_]+)(?::[^}]*)?\}/g)].map((m) => m[1]!))].sort();

/**
 * Every problem Caddy and the SSE rules find in a Caddyfile, `vars` standing in for the environment
 * the file reads (harmless sample values); `{$DOMAIN}` is the site the rules look at.
 */
export function caddyfileProblems(text: string, vars: Record<string, string>): string[] {
  const unset = caddyPlaceholders(text).filter((v) => !vars[v] && !text.includes(`{$${v}:`));
  if (unset.length) return unset.map((v) => `{$${v}} has no sample value to validate with`);
  const dir = mkdtempSync(path.join(os.tmpdir(), "quayside-caddyfile-"));
  try {
    writeFileSync(path.join(dir, "Caddyfile"), forInstalledCaddy(text, caddyVersion()));
    // Caddy's own storage and config folders go to the scratch folder, and only `vars` reach it.
    const env = { PATH: process.env.PATH ?? "", HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir, ...vars };
    const caddy = (command: string) =>
      spawnSync("caddy", [command, "--config", "Caddyfile", "--adapter", "caddyfile"], { cwd: dir, env, encoding: "utf8" });
    const validated = caddy("validate");
    if (validated.status !== 0) return [`caddy validate: ${errorLine(validated.stderr || String(validated.error))}`];
    const adapted = caddy("adapt");
    if (adapted.status !== 0) return [`caddy adapt: ${errorLine(adapted.stderr)}`];
    return caddyConfigProblems(JSON.parse(adapted.stdout), vars["DOMAIN"] ?? "");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function caddyVersion(): [number, number] {
  const out = spawnSync("caddy", ["version"], { encoding: "utf8" });
  // Upstream builds print "v2.10.0 h1:…", Debian's "2.6.2".
  const m = /^v?(\d+)\.(\d+)/.exec(out.stdout ?? "");
  if (!m) throw new Error(`cannot read the version of caddy: ${out.stderr || String(out.error)}`);
  return [Number(m[1]), Number(m[2])];
}

function forInstalledCaddy(text: string, [major, minor]: [number, number]): string {
  const unknown = Object.entries(NEWER_DIRECTIVES)
    .filter(([, [maj, min]]) => major < maj || (major === maj && minor < min))
    .map(([name]) => name);
  return text
    .split("\n")
    .map((line) => (unknown.includes(line.trim().split(/\s+/)[0] ?? "") ? "" : line))
    .join("\n");
}

const errorLine = (stderr: string): string =>
  stderr
    .split("\n")
    .filter((l) => l.startsWith("Error:"))
    .join(" ")
    .replace(/^Error: /, "") || stderr.trim();

// The parts of Caddy's JSON config the rules read.
interface Route {
  match?: { host?: string[] }[];
  handle?: Handler[];
}
interface Handler {
  handler: string;
  routes?: Route[];
  upstreams?: { dial?: string }[];
  dynamic_upstreams?: { source?: string; name?: string; port?: string };
  flush_interval?: number;
  match?: { headers?: Record<string, string[]> };
}
const route: z.ZodType<Route> = z.lazy(() =>
  z.object({
    match: z.array(z.object({ host: z.array(z.string()).optional() })).optional(),
    handle: z.array(handler).optional(),
  }),
);
const handler: z.ZodType<Handler> = z.lazy(() =>
  z.object({
    handler: z.string(),
    routes: z.array(route).optional(),
    upstreams: z.array(z.object({ dial: z.string().optional() })).optional(),
    dynamic_upstreams: z.object({ source: z.string(), name: z.string(), port: z.string() }).partial().optional(),
    flush_interval: z.number().optional(),
    match: z.object({ headers: z.record(z.string(), z.array(z.string())).optional() }).optional(),
  }),
);
const caddyConfig = z.object({
  apps: z.object({
    http: z.object({
      servers: z.record(z.string(), z.object({ routes: z.array(route).optional(), write_timeout: z.number().optional() })),
    }),
  }),
});

const handlers = (routes: Route[]): Handler[] =>
  routes.flatMap((r) => (r.handle ?? []).flatMap((h) => [h, ...handlers(h.routes ?? [])]));
const toWeb = (h: Handler): boolean =>
  h.handler === "reverse_proxy" &&
  ((h.upstreams ?? []).some((u) => u.dial === "web:3000") ||
    (h.dynamic_upstreams?.source === "a" && h.dynamic_upstreams.name === "web" && h.dynamic_upstreams.port === "3000"));
/** Caddy's header matcher: `*` at either end is a wildcard. */
const headerMatches = (pattern: string, value: string): boolean =>
  new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`).test(value);

/** The SSE rules, on the JSON config Caddy made of the file: the site for `host` keeps event streams flowing. */
export function caddyConfigProblems(config: unknown, host: string): string[] {
  const parsed = caddyConfig.safeParse(config);
  if (!parsed.success) return [`caddy adapt: unexpected config: ${parsed.error.message}`];
  const servers = Object.values(parsed.data.apps.http.servers);
  const sites = servers.flatMap((s) => s.routes ?? []).filter((r) => r.match?.some((m) => m.host?.includes(host)));
  if (sites.length === 0) return ["no site block for {$DOMAIN}"];
  const site = handlers(sites);
  const problems: string[] = [];
  const proxies = site.filter(toWeb);
  if (proxies.length === 0) problems.push("no reverse_proxy to web:3000");
  if (proxies.some((p) => p.flush_interval !== -1)) problems.push("reverse_proxy to web lacks `flush_interval -1` (SSE)");
  for (const e of site.filter((h) => h.handler === "encode")) {
    // Without a Content-Type matcher Caddy compresses its default types, text/* among them.
    const types = e.match?.headers?.["Content-Type"];
    if (!types || types.some((t) => headerMatches(t, "text/event-stream")))
      problems.push("encode may compress text/event-stream");
  }
  if (servers.some((s) => (s.write_timeout ?? 0) > 0)) problems.push("a server write timeout would cut SSE streams");
  return problems;
}
