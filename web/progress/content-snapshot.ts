/**
 * The current progress of a content job, for a page or the start of a stream: the workflow's
 * durable `status` snapshot, or (if Restate cannot answer) one derived from the stored job row.
 */
import { progressOfContentJob } from "../../shared/content-steps.ts";
import type { Logger } from "../../shared/logger.ts";
import { emptySnapshot, isTerminal, type ProgressSnapshot } from "../../shared/progress-event.ts";
import type { ContentClient } from "../adapters/content-client.ts";
import type { ContentJobsReadRepo, ContentJobView } from "../adapters/content-jobs-read.repo.ts";

/** What a stored job row says, for when the workflow cannot say it (or says less). */
function snapshotFromContentRow(job: ContentJobView): ProgressSnapshot {
  return {
    ...progressOfContentJob(job),
    seq: 0,
    at: null,
    invocationId: job.invocationId,
    data: { provider: job.provider, languages: job.languages.join(",") },
  };
}

/**
 * The workflow's snapshot, or (when Restate cannot answer) one derived from the stored row. The
 * row is written in the step that ends the job, a moment before the snapshot: a row that says the
 * job ended wins over a snapshot that does not say so yet, so a page never shows a running bar
 * beside the job's final reason.
 */
export async function currentContentSnapshot(
  deps: { content: ContentClient; contentJobs: ContentJobsReadRepo },
  jobId: string,
  log: Logger,
  row?: ContentJobView | null,
): Promise<ProgressSnapshot> {
  let snapshot: ProgressSnapshot;
  try {
    snapshot = await deps.content.status(jobId);
  } catch (err) {
    log.warn({ err, jobId }, "workflow status unavailable; using the stored job");
    const job = row === undefined ? await deps.contentJobs.find(jobId) : row;
    return job ? snapshotFromContentRow(job) : emptySnapshot;
  }
  if (row && (row.status === "completed" || row.status === "failed") && !isTerminal(snapshot)) {
    return { ...snapshotFromContentRow(row), invocationId: snapshot.invocationId ?? row.invocationId };
  }
  return snapshot;
}
