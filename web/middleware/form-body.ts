/**
 * Reads `application/x-www-form-urlencoded` bodies with a size limit, and checks the CSRF token
 * every state-changing request must carry (form field `_csrf` or header `x-csrf-token`).
 */
import type { Middleware } from "koa";
import type { AppState } from "../app-state.ts";

export function formBody(opts: { limitBytes: number }): Middleware<AppState> {
  return async (ctx, next) => {
    if (!["POST", "PUT", "PATCH", "DELETE"].includes(ctx.method)) {
      await next();
      return;
    }
    const type = ctx.request.type;
    if (type && type !== "application/x-www-form-urlencoded")
      ctx.throw(415, "Send the form as application/x-www-form-urlencoded");
    const declared = Number(ctx.get("content-length") || 0);
    if (declared > opts.limitBytes) ctx.throw(413, "The form is too large");
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > opts.limitBytes) ctx.throw(413, "The form is too large");
      chunks.push(chunk);
    }
    const form = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
    ctx.state.form = form;
    const token = form.get("_csrf") ?? (ctx.get("x-csrf-token") || undefined);
    if (!ctx.state.session.csrfValid(token))
      ctx.throw(403, "This form has expired or did not come from this site. Reload the page and try again.");
    await next();
  };
}
