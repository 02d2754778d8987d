/**
 * The web's Prometheus metrics: RED per route template (rate, errors, duration; the template, never
 * the path with its ids) plus process defaults. Probes and assets are left out.
 */
import type { Middleware } from "koa";
import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";

const UNMEASURED = /^\/(live|ready|startup|assets\/)/;

export function createWebMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "quayside_web_" });
  const requests = new Counter({
    name: "quayside_http_requests_total",
    help: "HTTP requests by method, route template and status",
    labelNames: ["method", "route", "status"],
    registers: [registry],
  });
  const duration = new Histogram({
    name: "quayside_http_request_duration_seconds",
    help: "Time to the end of the handler (for SSE: until the stream is set up), by method and route template",
    labelNames: ["method", "route"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });

  /** Counts one request and its time to the end of the handler. */
  const observe = (method: string, route: string, status: number, seconds: number) => {
    requests.inc({ method, route, status: String(status) });
    duration.observe({ method, route }, seconds);
  };

  const middleware: Middleware = async (ctx, next) => {
    if (UNMEASURED.test(ctx.path)) {
      await next();
      return;
    }
    const started = performance.now();
    try {
      await next();
    } finally {
      const route = (ctx as { _matchedRoute?: unknown })._matchedRoute;
      observe(ctx.method, typeof route === "string" ? route : "unmatched", ctx.status, (performance.now() - started) / 1000);
    }
  };
  return { registry, middleware, observe };
}
export type WebMetrics = ReturnType<typeof createWebMetrics>;
