/**
 * The one way a form starts durable work: claim the resource id for this session, submit it to
 * Restate, then redirect to its page (303, or HX-Redirect for htmx). If Restate does not accept
 * it, the claim is released and the user gets a 503 page: nothing is left half-stored.
 */
import type { Context } from "koa";
import type { ResourceKind } from "../shared/progress-event.ts";
import { RestateUnavailableError } from "./adapters/ingress.ts";
import type { OwnershipStore } from "./adapters/ownership.store.ts";
import type { AppState } from "./app-state.ts";

export interface ClaimedSubmission {
  ownership: OwnershipStore;
  kind: ResourceKind;
  id: string;
  submit(): Promise<{ invocationId: string; alreadySubmitted: boolean }>;
  /** Shown with 409 when another session already owns the id. */
  takenMessage: string;
  /** Shown with 503 when Restate does not accept the submission. */
  unavailableMessage: string;
  location: string;
}

export function redirectAfterPost(ctx: Context, location: string): void {
  if (ctx.get("hx-request") === "true") {
    ctx.set("HX-Redirect", location);
    ctx.status = 200;
    ctx.body = "";
    return;
  }
  ctx.status = 303;
  ctx.redirect(location);
}

export async function submitClaimed(ctx: Context & { state: AppState }, s: ClaimedSubmission): Promise<void> {
  const sessionId = ctx.state.session.id;
  if (!(await s.ownership.claim(s.kind, s.id, sessionId))) ctx.throw(409, s.takenMessage);
  try {
    const submitted = await s.submit();
    // Logged with the request's own line.
    ctx.state.logFields = { kind: s.kind, id: s.id, invocationId: submitted.invocationId, again: submitted.alreadySubmitted };
  } catch (err) {
    await s.ownership.release(s.kind, s.id, sessionId);
    if (err instanceof RestateUnavailableError) {
      ctx.state.log.error({ err, kind: s.kind, id: s.id }, "submission failed");
      ctx.throw(503, s.unavailableMessage, { expose: true });
    }
    throw err;
  }
  redirectAfterPost(ctx, s.location);
}
