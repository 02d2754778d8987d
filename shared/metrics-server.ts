/**
 * The process's operations port: Prometheus metrics at `/metrics`, and (for processes whose main
 * port speaks another protocol, like the worker's HTTP/2 Restate endpoint) probes at `/live` and
 * `/ready`. Kept off the main port so it is never exposed with the app, traced or logged.
 */
import http from "node:http";
import type { Registry } from "prom-client";

export interface OpsServerOptions {
  host: string;
  port: number;
  registry: Registry;
  /** Readiness: true when the process can do its work; false while draining. */
  ready?: () => boolean | Promise<boolean>;
}

export function startOpsServer(opts: OpsServerOptions): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const reply = (status: number, type: string, body: string) => {
      res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
      res.end(body);
    };
    if (path === "/metrics") {
      opts.registry.metrics().then(
        (text) => reply(200, opts.registry.contentType, text),
        () => reply(500, "text/plain", "metrics unavailable\n"),
      );
    } else if (path === "/live") {
      reply(200, "application/json", '{"status":"ok"}');
    } else if (path === "/ready" || path === "/startup") {
      Promise.resolve(opts.ready ? opts.ready() : true).then(
        (ok) => reply(ok ? 200 : 503, "application/json", JSON.stringify({ status: ok ? "ready" : "not ready" })),
        () => reply(503, "application/json", '{"status":"not ready"}'),
      );
    } else {
      reply(404, "text/plain", "not found\n");
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve(server));
  });
}
