/**
 * The lean front for progress streams: `GET /orders/:id/events` and its siblings are served here,
 * on the plain Node request, before Koa. An open stream then holds its socket, its cursor and its
 * subscription, and none of what a Koa request carries for its whole life (the context, request
 * and response wrappers, cookie jar, session closures, a child logger, a header map): at 10,000
 * open streams that was about half of the web's memory (docs/performance.md, SSE memory).
 *
 * Only the common case is served here: a signed session cookie, a session that owns the resource,
 * a valid resume point, room under the stream limits, not shutting down. Anything else is handed
 * to Koa unchanged, whose stream route (progress-route.ts) answers it with the same checks and the
 * usual error pages (404, 400, 429, 503), so there is one set of answers, not two.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { context } from "@opentelemetry/api";
import { getRPCMetadata, RPCType } from "@opentelemetry/core";
import Cookies from "cookies";
import Keygrip from "keygrip";
import type { Logger } from "../../shared/logger.ts";
import type { OwnershipStore } from "../adapters/ownership.store.ts";
import type { WebMetrics } from "../metrics.ts";
import { clientIp, requestIdOf } from "../middleware/request-context.ts";
import { csrfTokenFor, isSessionId, SESSION_COOKIE } from "../middleware/session.ts";
import { openSse } from "./sse-response.ts";
import { followsUntilSettled, parseResumePoint, type ProgressStreamDeps, type ProgressStreamKind } from "./stream-kind.ts";
import { startProgressStream } from "./progress-stream.ts";

export interface StreamFrontDeps extends ProgressStreamDeps {
  kinds: readonly ProgressStreamKind[];
  ownership: OwnershipStore;
  /** The key Koa signs the session cookie with (its `keys`). */
  sessionSecret: string;
  /** Behind one reverse proxy: the client's address is the last X-Forwarded-For entry (clientIp, as for Koa's routes). */
  trustProxy: boolean;
  logger: Logger;
  metrics?: WebMetrics | undefined;
  draining?: (() => boolean) | undefined;
}

interface Route {
  kind: ProgressStreamKind;
  /** The path with the id cut out: `/orders/` … `/events`. */
  prefix: string;
  suffix: string;
}

export function createStreamFront(deps: StreamFrontDeps, fallback: RequestListener): RequestListener {
  const routes: Route[] = deps.kinds.map((kind) => {
    const [prefix = "", suffix = ""] = kind.route.split(":id");
    return { kind, prefix, suffix };
  });
  const keys = new Keygrip([deps.sessionSecret]);

  const match = (path: string): { route: Route; rawId: string } | null => {
    for (const route of routes) {
      if (path.startsWith(route.prefix) && path.endsWith(route.suffix)) {
        const rawId = path.slice(route.prefix.length, path.length - route.suffix.length);
        if (rawId !== "" && !rawId.includes("/")) return { route, rawId };
      }
    }
    return null;
  };

  /** Serves the stream and returns true, or returns false (having written nothing) for Koa to answer. */
  async function serve(req: IncomingMessage, res: ServerResponse, route: Route, rawId: string, query: string) {
    const started = performance.now();
    const { kind } = route;
    const id = kind.idSchema.safeParse(rawId);
    if (!id.success || deps.draining?.()) return false;
    const params = query ? new URLSearchParams(query) : null;
    const resumeFrom = parseResumePoint(req.headers["last-event-id"] as string | undefined, params?.get("after") ?? undefined);
    if (resumeFrom === undefined) return false;
    const session = new Cookies(req, res, { keys }).get(SESSION_COOKIE, { signed: true });
    if (!isSessionId(session)) return false;
    const ip = clientIp(req, deps.trustProxy);
    if (deps.sseStreams?.refusal(session, ip)) return false;
    if (!(await deps.ownership.owns(kind.kind, id.data, session))) return false;
    // The ownership read took a moment: the client may have gone, or the limits filled up meanwhile.
    if (req.destroyed || deps.draining?.() || deps.sseStreams?.refusal(session, ip)) return false;

    const reqId = requestIdOf(req);
    const sse = deps.sseStreams
      ? deps.sseStreams.open(req, res, { session, ip, requestId: reqId })
      : openSse(req, res, { keepAliveMs: deps.keepAliveMs, requestId: reqId });
    await startProgressStream({
      kind,
      deps,
      sse,
      viewer: { id: id.data, csrfToken: csrfTokenFor(deps.sessionSecret, session) },
      resumeFrom,
      log: deps.logger,
      reqId,
      untilSettled: followsUntilSettled(params?.get("until")),
    });
    const ms = performance.now() - started;
    deps.metrics?.observe("GET", kind.route, 200, ms / 1000);
    deps.logger.info({ reqId, method: "GET", path: req.url?.split("?")[0], status: 200, ms: Math.round(ms) }, "request");
    return true;
  }

  return (req, res) => {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q === -1 ? url : url.slice(0, q);
    const found = req.method === "GET" ? match(path) : null;
    if (!found) return fallback(req, res);
    // With the http instrumentation loaded, the request's server span learns its route, as Koa's would.
    const rpc = getRPCMetadata(context.active());
    if (rpc?.type === RPCType.HTTP) rpc.route = found.route.kind.route;
    serve(req, res, found.route, found.rawId, q === -1 ? "" : url.slice(q + 1)).then(
      (served) => {
        if (!served && !res.headersSent) fallback(req, res);
      },
      (err: unknown) => {
        if (res.headersSent) {
          deps.logger.warn({ err, path }, "progress stream failed");
          res.destroy();
        } else {
          // The ownership store could not answer, say: Koa answers it with its usual error page.
          deps.logger.debug({ err, path }, "stream front handing the request to the app");
          fallback(req, res);
        }
      },
    );
  };
}
