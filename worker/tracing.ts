/**
 * Spans for the worker when tracing is on: one per handler attempt, parented on the trace context
 * Restate passes with the invocation (so a web POST, its Restate invocation and the worker's steps
 * form one trace), and one per executed step (`ctx.run`: the SQL, SMTP, Valkey, LLM or payment
 * call inside it). Replayed steps do not run, so they make no span.
 */
import { context } from "@opentelemetry/api";
import * as restate from "@restatedev/restate-sdk";
import { contextFromHeaders, inSpan } from "../shared/telemetry.ts";

export function tracingHooks(): restate.HooksProvider {
  return ({ request }) => {
    const header = (name: string): string | undefined => {
      const attempt = request.attemptHeaders.get(name);
      const value = Array.isArray(attempt) ? attempt[0] : attempt;
      return value ?? request.headers.get(name);
    };
    const { service, handler } = request.target;
    return {
      interceptor: {
        handler: (next) =>
          inSpan(`${service}/${handler}`, contextFromHeaders(header), async (span) => {
            span.setAttributes({
              "restate.invocation.id": String(request.id),
              "restate.service": service,
              "restate.handler": handler,
            });
            await next();
          }),
        run: (step, next) => inSpan(`${service} · ${step}`, context.active(), () => next()),
      },
    };
  };
}

/**
 * Options for a one-way send that keep the receiving invocation in this one's trace: the trace
 * context this invocation was started with (a journalled input header, the same on every replay).
 * Undefined when it carries none: then send with no options at all (the SDK refuses `undefined`).
 */
export function tracedSend<I>(ctx: restate.Context) {
  const traceparent = ctx.request().headers.get("traceparent");
  return traceparent ? restate.rpc.sendOpts<I>({ headers: { traceparent } }) : undefined;
}
