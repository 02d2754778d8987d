/**
 * `GET /ops/overview`: the shop's last hour (orders per minute, fulfilment p50, counts by status)
 * and the approvals list, live. `GET /ops/events`: the operator's SSE stream of fragments
 * (progress/ops-feed.ts); `?topics=` names what the page shows (overview, approvals, orders; all by
 * default). Both are for operators only: the operator gate (web/operators/operator-gate.ts) lets the request
 * in, and keeps watching the stream, which ends once its session is no longer an operator's.
 */
import Router from "@koa/router";
import type { Logger } from "../../shared/logger.ts";
import type { OperatorSessions } from "../operators/operator-sessions.ts";
import type { OpsLiveRepo } from "../adapters/ops-live.repo.ts";
import type { OpsOverviewRepo } from "../adapters/ops-overview.repo.ts";
import type { AppState } from "../app-state.ts";
import { watchOperatorStreams } from "../operators/operator-gate.ts";
import { opsTopics, type OpsFeed, type OpsTopic } from "../progress/ops-feed.ts";
import { openKoaStream, type SseStreams } from "../progress/sse-streams.ts";
import { renderPage } from "../views/layout.view.ts";
import { opsOverviewPage } from "../views/ops-overview.view.ts";

export interface OpsLiveDeps {
  operators: OperatorSessions;
  opsFeed: OpsFeed;
  opsLive: OpsLiveRepo;
  opsOverview: OpsOverviewRepo;
  sseStreams?: SseStreams | undefined;
  keepAliveMs: number;
  restateUiUrl: string | undefined;
  logger: Logger;
  /** How often open streams are re-checked against the gate (default 2 s). */
  operatorRecheckMs?: number | undefined;
}

/** The topics a `?topics=a,b` asks for (all when absent), or null when it names one we do not have. */
function parseTopics(raw: unknown): ReadonlySet<OpsTopic> | null {
  if (raw === undefined) return new Set(opsTopics);
  if (typeof raw !== "string") return null;
  const names = raw.split(",").map((t) => t.trim());
  const known = new Set<string>(opsTopics);
  return names.every((n) => known.has(n)) ? new Set(names as OpsTopic[]) : null;
}

export function opsLiveRoutes(deps: OpsLiveDeps) {
  const router = new Router<AppState>();

  const streams = watchOperatorStreams({
    operators: deps.operators,
    everyMs: deps.operatorRecheckMs ?? 2_000,
    logger: deps.logger,
  });

  router.get("/ops/overview", async (ctx) => {
    const [overview, pending] = await Promise.all([deps.opsOverview.overview(), deps.opsLive.awaitingApproval(200)]);
    ctx.set("Cache-Control", "no-store");
    ctx.type = "html";
    ctx.body = renderPage(
      ctx,
      opsOverviewPage({ overview, pending, csrfToken: ctx.state.session.csrfToken, restateUiUrl: deps.restateUiUrl }),
    );
  });

  router.get("/ops/events", async (ctx) => {
    const topics = parseTopics(ctx.query.topics);
    if (!topics) return ctx.throw(400, `topics must be some of: ${opsTopics.join(", ")}.`);
    const sse = openKoaStream(ctx, deps);
    // The feed may stay quiet a while: the browser sees the stream open now.
    sse.flushHeaders();
    streams.watch(ctx.state.session.id, sse);
    await deps.opsFeed.open(sse, { csrfToken: ctx.state.session.csrfToken, topics }, ctx.state.log);
  });

  return router;
}
