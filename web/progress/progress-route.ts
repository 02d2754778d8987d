/**
 * The handler every `GET /…/:id/events` shares: the session must own the resource (the same 404
 * as its page), the log carries the resource's id, then `streamProgress` with the route's own
 * snapshot loader and frames.
 */
import type { RouterContext, RouterMiddleware } from "@koa/router";
import type { Logger } from "../../shared/logger.ts";
import type { AppState } from "../app-state.ts";
import { ownershipCheck, type OwnershipCheckOptions } from "../ownership-check.ts";
import type { ProgressHub } from "./progress-hub.ts";
import { streamProgress, type ProgressStreamOptions } from "./progress-stream.ts";
import type { SseStreams } from "./sse-streams.ts";

export interface ProgressRouteOptions extends OwnershipCheckOptions {
  hub: ProgressHub;
  keepAliveMs: number;
  sseStreams?: SseStreams | undefined;
  /** The log field that names the resource: `orderId`, `jobId`, `campaignId`. */
  logKey: string;
  /** The snapshot and frames of one stream of resource `id`. */
  stream(ctx: RouterContext<AppState>, id: string, log: Logger): Pick<ProgressStreamOptions, "loadSnapshot" | "render">;
}

export function progressRoute(opts: ProgressRouteOptions): RouterMiddleware<AppState> {
  const owned = ownershipCheck(opts);
  return async (ctx) => {
    const id = await owned(ctx);
    const log = ctx.state.log.child({ [opts.logKey]: id });
    await streamProgress(ctx, {
      resource: { kind: opts.kind, id },
      hub: opts.hub,
      log,
      keepAliveMs: opts.keepAliveMs,
      streams: opts.sseStreams,
      ...opts.stream(ctx, id, log),
    });
  };
}
