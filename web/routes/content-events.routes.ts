/** `GET /content/:id/events`: a content job's progress panel and live text as SSE (see progress/progress-stream.ts). */
import Router from "@koa/router";
import { contentJobIdSchema } from "../../shared/content-job.schema.ts";
import { isTerminal } from "../../shared/progress-event.ts";
import type { ContentClient } from "../adapters/content-client.ts";
import type { ContentJobsReadRepo } from "../adapters/content-jobs-read.repo.ts";
import type { OwnershipStore } from "../adapters/ownership.store.ts";
import type { ProgressHub } from "../progress/progress-hub.ts";
import type { AppState } from "../app-state.ts";
import type { SseStreams } from "../progress/sse-streams.ts";
import { currentContentSnapshot } from "../progress/content-snapshot.ts";
import { progressRoute } from "../progress/progress-route.ts";
import type { SseFrame } from "../progress/progress-stream.ts";
import { contentPanel, resultLoader } from "../views/content-page.view.ts";

export interface ContentEventsDeps {
  content: ContentClient;
  contentJobs: ContentJobsReadRepo;
  ownership: OwnershipStore;
  hub: ProgressHub;
  restateUiUrl: string | undefined;
  keepAliveMs: number;
  sseStreams?: SseStreams | undefined;
}

export function contentEventRoutes(deps: ContentEventsDeps) {
  const router = new Router<AppState>();

  router.get(
    "/content/:id/events",
    progressRoute({
      ...deps,
      kind: "content",
      idSchema: contentJobIdSchema,
      notFound: "We could not find that job.",
      logKey: "jobId",
      stream: (_ctx, jobId, log) => ({
        loadSnapshot: () => currentContentSnapshot(deps, jobId, log),
        render: (shown) => {
          const frames: SseFrame[] = [{ event: "progress", data: contentPanel(shown, deps.restateUiUrl).value }];
          // The stored result (translations, usage, cost) is read from the page once the job is done.
          if (isTerminal(shown) && shown.status === "succeeded")
            frames.push({ event: "result", data: resultLoader(jobId).value });
          return frames;
        },
      }),
    }),
  );

  return router;
}
