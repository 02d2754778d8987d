/**
 * OpenTelemetry traces, when OTEL_EXPORTER_OTLP_ENDPOINT is set: W3C trace context in and out,
 * spans exported over OTLP/HTTP in batches by the SDK (`@opentelemetry/sdk-node`). Without the
 * variable nothing is loaded or started and the helpers below are no-ops.
 *
 * Two kinds of span end up in one trace. Our own code makes spans at the boundaries that matter:
 * the web's routes, the worker's handler attempts and steps, the SMTP send. The libraries'
 * instrumentations add what happens inside them: incoming and outgoing HTTP (`http`, `fetch`),
 * PostgreSQL queries (`pg`) and Valkey commands (`ioredis`). Those only see modules loaded after
 * they were enabled, so the SDK is started by `telemetry-register.ts`, preloaded with
 * `node --import`; `startTelemetry` then hands back what it started. A process started without
 * the preload still gets our own spans.
 */
import { context, propagation, trace, type Context, type Span, type SpanOptions } from "@opentelemetry/api";

export interface Telemetry {
  /** The libraries' own spans are recorded (the SDK was preloaded). */
  readonly librariesInstrumented: boolean;
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>;
}

/** What this process started: the preload and `main.ts` import this same module instance. */
let started: { telemetry: Promise<Telemetry>; librariesInstrumented: boolean } | undefined;

// Probes, scrapes and static files: frequent, uninteresting, and they would bury the rest.
const UNTRACED_PATHS = /^\/(live|ready|startup|metrics|assets\/|favicon)/;

/** True for a request path that is never traced. */
export function isUntracedPath(path: string): boolean {
  return UNTRACED_PATHS.test(path);
}

/**
 * Starts tracing once per process (later calls get the same handle). `instrumentLibraries` is
 * set only by the preload: enabling the instrumentations any later misses the modules already
 * imported, and would leave the process half-instrumented without saying so.
 */
export function startTelemetry(opts: {
  serviceName: string;
  endpoint: string | undefined;
  instrumentLibraries?: boolean;
}): Promise<Telemetry> {
  if (started) return started.telemetry;
  if (!opts.endpoint) return Promise.resolve({ librariesInstrumented: false, shutdown: () => Promise.resolve() });
  started = {
    telemetry: startSdk({ ...opts, endpoint: opts.endpoint }),
    librariesInstrumented: opts.instrumentLibraries === true,
  };
  return started.telemetry;
}

async function startSdk(opts: { serviceName: string; endpoint: string; instrumentLibraries?: boolean }): Promise<Telemetry> {
  const [{ NodeSDK }, { BatchSpanProcessor }, { OTLPTraceExporter }, { W3CTraceContextPropagator }, instrumentations] =
    await Promise.all([
      import("@opentelemetry/sdk-node"),
      import("@opentelemetry/sdk-trace"),
      import("@opentelemetry/exporter-trace-otlp-http"),
      import("@opentelemetry/core"),
      opts.instrumentLibraries ? libraryInstrumentations() : Promise.resolve([]),
    ]);
  const sdk = new NodeSDK({
    serviceName: opts.serviceName,
    // Only the service name: host and process detectors add attributes to every span for little.
    autoDetectResources: false,
    textMapPropagator: new W3CTraceContextPropagator(),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url: `${opts.endpoint.replace(/\/+$/, "")}/v1/traces` }),
        scheduledDelayMillis: 500,
      }),
    ],
    // Metrics are Prometheus (prom-client) and logs are pino: the SDK exports traces only.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations,
  });
  sdk.start();
  return { librariesInstrumented: instrumentations.length > 0, shutdown: () => sdk.shutdown() };
}

async function libraryInstrumentations() {
  const [{ HttpInstrumentation }, { UndiciInstrumentation }, { PgInstrumentation }, { IORedisInstrumentation }] =
    await Promise.all([
      import("@opentelemetry/instrumentation-http"),
      import("@opentelemetry/instrumentation-undici"),
      import("@opentelemetry/instrumentation-pg"),
      import("@opentelemetry/instrumentation-ioredis"),
    ]);
  return [
    new HttpInstrumentation({ ignoreIncomingRequestHook: (req) => isUntracedPath(req.url ?? "/") }),
    new UndiciInstrumentation({ requireParentforSpans: true }),
    // Calls outside any traced request or step (pool health checks, the SSE subscriber, readiness
    // probes, the worker registering itself) would each be a trace of their own: they are left out.
    new PgInstrumentation({ requireParentSpan: true, ignoreConnectSpans: true }),
    new IORedisInstrumentation({ requireParentSpan: true }),
  ];
}

/**
 * Headers that carry the active trace to the next hop (empty when tracing is off, and when the
 * `fetch` instrumentation adds them to the request itself: twice would be two parents).
 */
export function traceHeaders(): Record<string, string> {
  const carrier: Record<string, string> = {};
  if (started?.librariesInstrumented) return carrier;
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
export async function inSpan<T>(
  name: string,
  parent: Context,
  fn: (span: Span) => Promise<T>,
  options?: SpanOptions,
): Promise<T> {
  const span = trace.getTracer("quayside").startSpan(name, options, parent);
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
