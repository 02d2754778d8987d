/**
 * The one access check for a resource's page, stream and actions: the id from the path when this
 * browser session owns it, else the same 404 whether the id is malformed, someone else's or
 * unknown. Only the session counts here: a signed link grants access once, through `accessLinks`
 * on the page's URL, so an `access` token on a stream or action URL grants nothing.
 */
import type { Context } from "koa";
import type { z } from "zod";
import type { ResourceKind } from "../shared/progress-event.ts";
import type { OperatorSessions } from "./operators/operator-sessions.ts";
import type { OwnershipStore } from "./adapters/ownership.store.ts";
import type { AppState } from "./app-state.ts";

export interface OwnershipCheckOptions {
  ownership: OwnershipStore;
  kind: ResourceKind;
  /** Parses the route's `:id`. */
  idSchema: z.ZodType<string>;
  /** The 404 message for anyone without access. */
  notFound: string;
}

type RouteContext = { params: Record<string, string | undefined>; state: AppState; throw: Context["throw"] };

/** Who may read a resource: its owner, or (to read only) a signed-in operator. */
export interface ReadAccess {
  id: string;
  /** True when the session does not own the resource and reads it as an operator: no controls. */
  asOperator: boolean;
}

/**
 * For a page or stream that operators may read too: the owner as `ownershipCheck` lets in, else a
 * session the operator gate would let in (an enabled account's, checked now), read-only; else the
 * same 404. Actions keep `ownershipCheck`: an operator acts from the console, not the customer's page.
 */
export function readAccessCheck(
  opts: OwnershipCheckOptions & { operators?: Pick<OperatorSessions, "operatorOf"> | undefined },
): (ctx: RouteContext) => Promise<ReadAccess> {
  return async (ctx) => {
    const id = opts.idSchema.safeParse(ctx.params.id);
    if (!id.success) return ctx.throw(404, opts.notFound);
    if (await opts.ownership.owns(opts.kind, id.data, ctx.state.session.id)) return { id: id.data, asOperator: false };
    if (opts.operators && (await opts.operators.operatorOf(ctx.state.session.id)) !== null)
      return { id: id.data, asOperator: true };
    return ctx.throw(404, opts.notFound);
  };
}

/** A check that resolves to the route's id if this session owns it, and throws the 404 otherwise. */
export function ownershipCheck(opts: OwnershipCheckOptions): (ctx: RouteContext) => Promise<string> {
  return async (ctx) => {
    const id = opts.idSchema.safeParse(ctx.params.id);
    if (!id.success || !(await opts.ownership.owns(opts.kind, id.data, ctx.state.session.id))) {
      return ctx.throw(404, opts.notFound);
    }
    return id.data;
  };
}
