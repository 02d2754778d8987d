/** What middleware puts on `ctx.state` for the routes after it. */
import type { Logger } from "../shared/logger.ts";

export interface SessionState {
  id: string;
  csrfToken: string;
  csrfValid(candidate: string | undefined): boolean;
}

export interface AppState {
  reqId: string;
  log: Logger;
  session: SessionState;
  form: URLSearchParams;
}
