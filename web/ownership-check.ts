/**
 * The one access check for a resource's page, stream and actions: the id from the path when this
 * browser session owns it, else the same 404 whether the id is malformed, someone else's or
 * unknown. Only the session counts here: a signed link grants access once, through `accessLinks`
 * on the page's URL, so an `access` token on a stream or action URL grants nothing.
 */
import type { Context } from "koa";
import type { z } from "zod";
import type { ResourceKind } from "../shared/progress-event.ts";
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
