/**
 * OpenTelemetry traces, when OTEL_EXPORTER_OTLP_ENDPOINT is set: W3C trace context in and out,
 * spans exported over OTLP/HTTP in batches. Without the variable nothing is loaded or started
 * and the helpers below are no-ops. Spans are made by our own code at the boundaries that matter:
 * the web's requests (probes and assets left out), the ingress calls (traceparent sent to
 * Restate), and the worker's handler attempts and steps (parented on what Restate passes on).
 */
import { context, propagation, trace, type Context, type Span } from "@opentelemetry/api";

export interface Telemetry {
  shutdown(): Promise<void>;
}

export async function startTelemetry(opts: { serviceName: string; endpoint: string | undefined }): Promise<Telemetry> {
  if (!opts.endpoint) return { shutdown: () => Promise.resolve() };
  const [
    { TracerProvider, BatchSpanProcessor },
    { OTLPTraceExporter },
    { resourceFromAttributes },
    { AsyncLocalStorageContextManager },
    { W3CTraceContextPropagator },
  ] = await Promise.all([
    import("@opentelemetry/sdk-trace"),
    import("@opentelemetry/exporter-trace-otlp-http"),
    import("@opentelemetry/resources"),
    import("@opentelemetry/context-async-hooks"),
    import("@opentelemetry/core"),
  ]);
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ "service.name": opts.serviceName }),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url: `${opts.endpoint.replace(/\/+$/, "")}/v1/traces` }),
        scheduledDelayMillis: 500,
      }),
    ],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  return { shutdown: () => provider.shutdown() };
}

/** Headers that carry the active trace to the next hop (empty when tracing is off). */
export function traceHeaders(): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}

/** The context a remote caller passed in its headers. */
export function contextFromHeaders(get: (name: string) => string | undefined): Context {
  return propagation.extract(context.active(), undefined, {
    get: (_c, key) => get(key),
    keys: () => ["traceparent", "tracestate"],
  });
}

/** Runs `fn` in a new span (a child of `parent`), ending it and recording a failure. */
export async function inSpan<T>(name: string, parent: Context, fn: (span: Span) => Promise<T>): Promise<T> {
  const span = trace.getTracer("quayside").startSpan(name, undefined, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (err) {
    span.recordException(err instanceof Error ? err : String(err));
    span.setStatus({ code: 2 });
    throw err;
  } finally {
    span.end();
  }
}

/** trace_id and span_id of the active span, for log lines. */
export function activeTraceIds(): { trace_id: string; span_id: string } | Record<string, never> {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const c = span.spanContext();
  return { trace_id: c.traceId, span_id: c.spanId };
}
