/** What middleware puts on `ctx.state` for the routes after it. */
import type { Logger } from "../shared/logger.ts";

export interface SessionState {
  id: string;
  csrfToken: string;
  csrfValid(candidate: string | undefined): boolean;
  /** Replaces the session id (and cookie, and CSRF token), e.g. when privileges change; returns the new id. */
  rotate(): string;
}

export interface AppState {
  reqId: string;
  log: Logger;
  /** What the request did, added to its one access-log line (e.g. the workflow a form submitted). */
  logFields?: Record<string, unknown>;
  session: SessionState;
  /** The signed-in operator, set by the operator gate (web/operators/operator-gate.ts) on `/ops` routes only. */
  operator?: string;
  form: URLSearchParams;
}
