/**
 * Browser sessions: a random id in a signed, HttpOnly, SameSite=Lax cookie (Koa's keygrip
 * signing). The CSRF token is an HMAC of the session id, so it needs no storage of its own.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Middleware } from "koa";
import type { AppState, SessionState } from "../app-state.ts";

export const SESSION_COOKIE = "qs_session";

/** The form a session id has; anything else in the cookie is treated as no session. */
export function isSessionId(sid: string | undefined): sid is string {
  return sid !== undefined && /^[A-Za-z0-9_-]{22,64}$/.test(sid);
}

/** A session's CSRF token: an HMAC of its id, so it needs no storage of its own. */
export function csrfTokenFor(secret: string, sid: string): string {
  return createHmac("sha256", secret).update(`csrf:${sid}`).digest("base64url");
}

export function sessions(opts: { secret: string; ttlSeconds: number; secure: boolean }): Middleware<AppState> {
  const csrfFor = (sid: string) => csrfTokenFor(opts.secret, sid);
  return async (ctx, next) => {
    const issue = (): string => {
      const fresh = randomBytes(18).toString("base64url");
      ctx.cookies.set(SESSION_COOKIE, fresh, {
        signed: true,
        httpOnly: true,
        sameSite: "lax",
        secure: opts.secure,
        maxAge: opts.ttlSeconds * 1000,
        overwrite: true,
      });
      return fresh;
    };
    let sid = ctx.cookies.get(SESSION_COOKIE, { signed: true });
    if (!isSessionId(sid)) sid = issue();
    const session: SessionState = {
      id: sid,
      csrfToken: csrfFor(sid),
      csrfValid: (candidate: string | undefined) => {
        if (!candidate) return false;
        const a = Buffer.from(candidate);
        const b = Buffer.from(session.csrfToken);
        return a.length === b.length && timingSafeEqual(a, b);
      },
      rotate: () => {
        session.id = issue();
        session.csrfToken = csrfFor(session.id);
        return session.id;
      },
    };
    ctx.state.session = session;
    await next();
  };
}
