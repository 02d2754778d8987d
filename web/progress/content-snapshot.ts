/**
 * A content job's snapshot under the one policy (resource-snapshot.ts). The workflow publishes its
 * first event ("received") before it saves the job, and writes the row only when the description
 * is saved and when the job ends, so the row is not "never behind the stream": it says no more than
 * "running" while the stream tells the steps. What holds is that the row records the job's end
 * (completed, or failed with its reason) in the step before the terminal event, so the row wins
 * only when it says the job ended and the stream does not say so yet: a page never shows a running
 * bar beside the job's final reason. The stream's newest event may be streamed text: the page then
 * shows the text so far.
 */
import { progressOfContentJob } from "../../shared/content-steps.ts";
import type { Logger } from "../../shared/logger.ts";
import { isTerminal, type ProgressSnapshot } from "../../shared/progress-event.ts";
import type { ContentClient } from "../adapters/content-client.ts";
import type { ContentJobsReadRepo, ContentJobView } from "../adapters/content-jobs-read.repo.ts";
import type { ProgressHub } from "./progress-hub.ts";
import { currentSnapshot, type CurrentState, type KnownState, type SnapshotSource } from "./resource-snapshot.ts";

/** What a stored job row says, for when the stream is behind it or cannot be read. */
function snapshotFromContentRow(job: ContentJobView): ProgressSnapshot {
  return {
    ...progressOfContentJob(job),
    seq: 0,
    at: null,
    invocationId: job.invocationId,
    data: { provider: job.provider, languages: job.languages.join(",") },
  };
}

export type ContentSnapshotDeps = { content: ContentClient; contentJobs: ContentJobsReadRepo; hub: ProgressHub };

function contentSource(deps: ContentSnapshotDeps): SnapshotSource<ContentJobView> {
  return {
    kind: "content",
    logKey: "jobId",
    // The job's row names its invocation; the stream may hold a thousand text events per step.
    reads: "newest",
    readRow: (id) => deps.contentJobs.find(id),
    fromRow: snapshotFromContentRow,
    rowIsAhead: contentRowIsAhead,
    status: (id) => deps.content.status(id),
  };
}

/** Only the job's end is written ahead of its event: a running row says nothing the stream does not. */
export function contentRowIsAhead(stored: Pick<ProgressSnapshot, "status">, seen: Pick<ProgressSnapshot, "status">): boolean {
  return isTerminal(stored) && !isTerminal(seen);
}

/** The job's snapshot and the job row it was checked against (read here when not given). */
export function currentContentSnapshot(
  deps: ContentSnapshotDeps,
  jobId: string,
  log: Logger,
  known: KnownState<ContentJobView> = {},
): Promise<CurrentState<ContentJobView>> {
  return currentSnapshot(deps, contentSource(deps), jobId, log, known);
}
