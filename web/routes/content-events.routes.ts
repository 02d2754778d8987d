/** `GET /content/:id/events`: a content job's progress panel and live text as SSE (see progress-stream.ts). */
import Router from "@koa/router";
import { contentJobIdSchema } from "../../shared/content-job.schema.ts";
import { isTerminal } from "../../shared/progress-event.ts";
import type { ContentClient } from "../adapters/content-client.ts";
import type { ContentJobsReader } from "../adapters/content-jobs.repo.ts";
import type { OwnershipStore } from "../adapters/ownership.store.ts";
import type { ProgressHub } from "../adapters/progress-hub.ts";
import type { AppState } from "../app-state.ts";
import type { SseStreams } from "../sse-streams.ts";
import { streamProgress, type SseFrame } from "../progress-stream.ts";
import { contentPanel, resultLoader } from "../views/content-page.view.ts";
import { contentSnapshot } from "./content.routes.ts";

export interface ContentEventsDeps {
  content: ContentClient;
  contentJobs: ContentJobsReader;
  ownership: OwnershipStore;
  hub: ProgressHub;
  restateUiUrl: string | undefined;
  keepAliveMs: number;
  sseStreams?: SseStreams | undefined;
}

export function contentEventRoutes(deps: ContentEventsDeps) {
  const router = new Router<AppState>();

  router.get("/content/:id/events", async (ctx) => {
    const id = contentJobIdSchema.safeParse(ctx.params.id);
    if (!id.success || !(await deps.ownership.owns("content", id.data, ctx.state.session.id))) {
      return ctx.throw(404, "We could not find that job.");
    }
    const jobId = id.data;
    const log = ctx.state.log.child({ jobId });
    await streamProgress(ctx, {
      resource: { kind: "content", id: jobId },
      hub: deps.hub,
      log,
      keepAliveMs: deps.keepAliveMs,
      streams: deps.sseStreams,
      loadSnapshot: () => contentSnapshot(deps, jobId, log),
      render: (shown) => {
        const frames: SseFrame[] = [{ event: "progress", data: contentPanel(shown, deps.restateUiUrl).value }];
        // The stored result (translations, usage, cost) is read from the page once the job is done.
        if (isTerminal(shown) && shown.status === "succeeded") frames.push({ event: "result", data: resultLoader(jobId).value });
        return frames;
      },
    });
  });

  return router;
}
