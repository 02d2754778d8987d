/**
 * A small stand-in for an OpenTelemetry Collector: an HTTP server on a free loopback port that
 * accepts OTLP/HTTP JSON trace exports (`POST /v1/traces`) and keeps what arrived, flattened to
 * one record per span. The tracing test asserts on the spans; the bench only needs the exports
 * to land somewhere that answers like a collector. Point `OTEL_EXPORTER_OTLP_ENDPOINT` at `url`.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { z } from "zod";

export interface CollectedSpan {
  service: string;
  /** The instrumentation scope (`quayside`, `@opentelemetry/instrumentation-pg`, …). */
  scope: string;
  name: string;
  traceId: string;
  spanId: string;
  /** Empty for a trace's root. */
  parentSpanId: string;
}

export interface OtlpSink {
  url: string;
  spans: CollectedSpan[];
  /** Export requests received (with or without spans). */
  exports: number;
  close(): Promise<void>;
}

const exportSchema = z.object({
  resourceSpans: z
    .array(
      z.object({
        resource: z
          .object({ attributes: z.array(z.object({ key: z.string(), value: z.object({ stringValue: z.string().optional() }) })) })
          .partial()
          .optional(),
        scopeSpans: z
          .array(
            z.object({
              scope: z.object({ name: z.string().optional() }).optional(),
              spans: z
                .array(
                  z.object({ name: z.string(), traceId: z.string(), spanId: z.string(), parentSpanId: z.string().optional() }),
                )
                .optional(),
            }),
          )
          .optional(),
      }),
    )
    .optional(),
});

/** `keepSpans: false` counts exports but keeps no spans (a long bench would otherwise fill memory). */
export function startOtlpSink(opts: { keepSpans?: boolean } = {}): Promise<OtlpSink> {
  const keep = opts.keepSpans ?? true;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/v1/traces") {
        res.writeHead(404).end();
        return;
      }
      sink.exports += 1;
      if (keep) {
        const parsed = exportSchema.safeParse(JSON.parse(Buffer.concat(chunks).toString("utf8")));
        if (!parsed.success) {
          res.writeHead(400, { "content-type": "application/json" }).end("{}");
          return;
        }
        for (const rs of parsed.data.resourceSpans ?? []) {
          const service = rs.resource?.attributes?.find((a) => a.key === "service.name")?.value.stringValue ?? "";
          for (const ss of rs.scopeSpans ?? [])
            for (const s of ss.spans ?? [])
              sink.spans.push({
                service,
                scope: ss.scope?.name ?? "",
                name: s.name,
                traceId: s.traceId,
                spanId: s.spanId,
                parentSpanId: s.parentSpanId ?? "",
              });
        }
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  const sink: OtlpSink = {
    url: "",
    spans: [],
    exports: 0,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      sink.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      resolve(sink);
    });
  });
}
