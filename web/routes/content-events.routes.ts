/** `GET /content/:id/events`: a content job's progress panel and live text as SSE (see progress/progress-stream.ts). */
import Router from "@koa/router";
import { contentJobIdSchema } from "../../shared/content-job.schema.ts";
import { isTerminal } from "../../shared/progress-event.ts";
import type { ContentClient } from "../adapters/content-client.ts";
import type { ContentJobsReadRepo } from "../adapters/content-jobs-read.repo.ts";
import type { OwnershipStore } from "../adapters/ownership.store.ts";
import type { AppState } from "../app-state.ts";
import { contentRowIsAhead, currentContentSnapshot } from "../progress/content-snapshot.ts";
import type { ProgressHub } from "../progress/progress-hub.ts";
import { progressRoute } from "../progress/progress-route.ts";
import type { ProgressStreamDeps, ProgressStreamKind, SseFrame } from "../progress/stream-kind.ts";
import { contentPanel, resultLoader } from "../views/content-page.view.ts";

export interface ContentStreamDeps {
  content: ContentClient;
  contentJobs: ContentJobsReadRepo;
  hub: ProgressHub;
  restateUiUrl: string | undefined;
}

export function contentStream(deps: ContentStreamDeps): ProgressStreamKind {
  return {
    kind: "content",
    route: "/content/:id/events",
    idSchema: contentJobIdSchema,
    notFound: "We could not find that job.",
    logKey: "jobId",
    // Built from the job's newest event as read after subscribing: a fresh client has nothing to replay.
    loadSnapshot: async (jobId, log) => {
      const { snapshot, fromStream } = await currentContentSnapshot(deps, jobId, log);
      return { snapshot, complete: fromStream };
    },
    ahead: contentRowIsAhead,
    render: ({ id }, shown) => {
      const frames: SseFrame[] = [{ event: "progress", data: contentPanel(shown, deps.restateUiUrl).value }];
      // The stored result (translations, usage, cost) is read from the page once the job is done.
      if (isTerminal(shown) && shown.status === "succeeded") frames.push({ event: "result", data: resultLoader(id).value });
      return frames;
    },
  };
}

export function contentEventRoutes(deps: ProgressStreamDeps & { ownership: OwnershipStore; contentStream: ProgressStreamKind }) {
  const router = new Router<AppState>();
  router.get(deps.contentStream.route, progressRoute(deps.contentStream, deps));
  return router;
}
