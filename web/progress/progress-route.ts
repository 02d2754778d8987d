/**
 * The Koa handler every `GET /…/:id/events` shares: the session must own the resource (the same 404
 * as its page), a malformed Last-Event-ID is a 400, the stream limits answer 429/503, then the
 * stream runs. Streams are normally served by the lean front (stream-front.ts) before Koa sees
 * them; this route answers whatever the front hands over (every refusal, with Koa's error pages)
 * and serves streams when there is no front (an app used on its own, as in some tests).
 */
import type { RouterMiddleware } from "@koa/router";
import type { AppState } from "../app-state.ts";
import { readAccessCheck } from "../ownership-check.ts";
import type { OperatorSessions } from "../operators/operator-sessions.ts";
import type { OwnershipStore } from "../adapters/ownership.store.ts";
import { openKoaStream } from "./sse-streams.ts";
import {
  BAD_RESUME_POINT,
  followsUntilSettled,
  parseResumePoint,
  type ProgressStreamDeps,
  type ProgressStreamKind,
} from "./stream-kind.ts";
import { startProgressStream } from "./progress-stream.ts";

export function progressRoute(
  kind: ProgressStreamKind,
  deps: ProgressStreamDeps & { ownership: OwnershipStore; operators?: OperatorSessions | undefined },
  /** Whether a signed-in operator may read this kind's streams (read-only) without owning them. */
  operatorsRead = false,
): RouterMiddleware<AppState> {
  const readable = readAccessCheck({ ...kind, ownership: deps.ownership, operators: operatorsRead ? deps.operators : undefined });
  return async (ctx) => {
    const { id, asOperator } = await readable(ctx);
    const resumeFrom = parseResumePoint(ctx.get("last-event-id"), ctx.query.after);
    if (resumeFrom === undefined) return ctx.throw(400, BAD_RESUME_POINT);
    const sse = openKoaStream(ctx, deps);
    await startProgressStream({
      kind,
      deps,
      sse,
      viewer: { id, csrfToken: ctx.state.session.csrfToken, readOnly: asOperator },
      resumeFrom,
      log: ctx.state.log,
      untilSettled: followsUntilSettled(ctx.query.until),
    });
  };
}
