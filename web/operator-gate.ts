/**
 * Who the operator behind a request is, for the operator pages that record it (stock movements,
 * cancellations, refunds). The name comes from the operator's session; no operator, no entry (403).
 */
import type { Context } from "koa";
import type { AppState } from "./app-state.ts";

/** The signed-in operator's name for a session id, or null when the session is not an operator's. */
export type OperatorName = (sessionId: string) => Promise<string | null>;

export function operatorGate(operatorName: OperatorName) {
  return async (ctx: Context & { state: AppState }): Promise<string> => {
    const name = await operatorName(ctx.state.session.id);
    if (name === null) return ctx.throw(403, "Sign in as an operator first (Operations, at the foot of the page).");
    return name;
  };
}
