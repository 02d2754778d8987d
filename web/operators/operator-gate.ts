/**
 * The one gate in front of the operator console: every request under `/ops`, whichever router
 * serves it, passes `operatorGate` (mounted once, in app.ts) before any route sees it. It lets in
 * a session that is an enabled operator account's at the account's current version
 * (operator-sessions.ts) and puts the name on `ctx.state.operator`; anything else gets
 * the sign-in form (a page) or a 403. Only signing in and out are open.
 *
 * What it costs: a Valkey GET per request, plus one PostgreSQL primary-key read when the session
 * holds a grant. Nothing is cached, so `disable` and `reset` take effect on the next request.
 * Streams outlive the request that opened them: `watchOperatorStreams` re-checks every open
 * operator stream together (one MGET and one query per round) and ends those no longer allowed.
 */
import type { Context, Middleware } from "koa";
import type { Logger } from "../../shared/logger.ts";
import type { OperatorSessions } from "./operator-sessions.ts";
import type { AppState } from "../app-state.ts";
import type { SseStream } from "../progress/sse-response.ts";
import { renderPage } from "../views/layout.view.ts";
import { opsLoginPage } from "../views/ops.view.ts";

/** The operator console's paths: `/ops` and everything below it. */
export function isOperatorPath(path: string): boolean {
  return path === "/ops" || path.startsWith("/ops/");
}

/** The only operator routes that do not need a signed-in operator. */
export const OPEN_OPERATOR_ROUTES: ReadonlySet<string> = new Set(["POST /ops/login", "POST /ops/logout"]);

const SIGN_IN_FIRST = "Sign in as an operator first (Operations, at the foot of the page).";

export function operatorGate(deps: { operators: OperatorSessions }): Middleware<AppState> {
  return async (ctx, next) => {
    if (!isOperatorPath(ctx.path) || OPEN_OPERATOR_ROUTES.has(`${ctx.method} ${ctx.path}`)) {
      await next();
      return;
    }
    const name = await deps.operators.operatorOf(ctx.state.session.id);
    if (name !== null) {
      ctx.state.operator = name;
      await next();
      return;
    }
    if ((ctx.method === "GET" || ctx.method === "HEAD") && ctx.accepts("html", "text/event-stream") === "html") {
      // A page asked for: the sign-in form, at /ops as the console's front door, elsewhere as the 403.
      const frontDoor = ctx.path === "/ops" || ctx.path === "/ops/";
      ctx.status = frontDoor ? 200 : 403;
      ctx.set("Cache-Control", "no-store");
      ctx.type = "html";
      ctx.body = renderPage(ctx, opsLoginPage(ctx.state.session.csrfToken, frontDoor ? {} : { notice: SIGN_IN_FIRST }));
      return;
    }
    ctx.throw(403, SIGN_IN_FIRST);
  };
}

/**
 * The operator the gate let in, for the routes that record who acted. A promise, as the session
 * lookup it replaced was: route code reads `await operator(ctx)` either way.
 */
export function signedInOperator(ctx: Context & { state: AppState }): Promise<string> {
  // Only a route outside /ops, which the gate does not see, gets here without a name: refused, not served.
  return Promise.resolve(ctx.state.operator ?? ctx.throw(403, SIGN_IN_FIRST));
}

/**
 * Ends open operator streams whose session stops being an operator's (disabled, reset, signed
 * out) within about `everyMs`; the browser's reconnect then meets the gate's 403 and stops.
 * The timer runs only while a stream is open.
 */
export function watchOperatorStreams(deps: { operators: OperatorSessions; everyMs: number; logger: Logger }) {
  const open = new Map<SseStream, string>();
  let timer: NodeJS.Timeout | null = null;
  let checking = false;

  async function check(): Promise<void> {
    if (checking) return;
    checking = true;
    try {
      const streams = [...open];
      const allowed = await deps.operators.signedIn([...new Set(streams.map(([, sid]) => sid))]);
      for (const [sse, sid] of streams) if (!allowed.has(sid)) sse.end();
    } catch (err) {
      // Checked again next round; the streams stay open meanwhile, as new requests would fail anyway.
      deps.logger.warn({ err }, "could not re-check the open operator streams");
    } finally {
      checking = false;
    }
  }

  return {
    watch(sessionId: string, sse: SseStream): void {
      open.set(sse, sessionId);
      sse.onClose(() => {
        open.delete(sse);
        if (open.size === 0 && timer) {
          clearInterval(timer);
          timer = null;
        }
      });
      if (!timer && open.size > 0) {
        timer = setInterval(() => void check(), deps.everyMs);
        timer.unref();
      }
    },
  };
}
