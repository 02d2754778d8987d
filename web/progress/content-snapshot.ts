/**
 * The current progress of a content job, for a page or the start of a stream: the workflow's
 * durable `status` snapshot, or (if Restate cannot answer) one derived from the stored job row.
 */
import type { Logger } from "../../shared/logger.ts";
import { emptySnapshot, type ProgressSnapshot } from "../../shared/progress-event.ts";
import type { ContentClient } from "../adapters/content-client.ts";
import type { ContentJobsReadRepo, ContentJobView } from "../adapters/content-jobs-read.repo.ts";

/** The workflow's snapshot, or (when Restate cannot answer) one derived from the stored row. */
export async function currentContentSnapshot(
  deps: { content: ContentClient; contentJobs: ContentJobsReadRepo },
  jobId: string,
  log: Logger,
  row?: ContentJobView | null,
): Promise<ProgressSnapshot> {
  try {
    return await deps.content.status(jobId);
  } catch (err) {
    log.warn({ err, jobId }, "workflow status unavailable; using the stored job");
    const job = row === undefined ? await deps.contentJobs.find(jobId) : row;
    if (!job) return emptySnapshot;
    const base = {
      seq: 0,
      at: null,
      invocationId: job.invocationId,
      data: { provider: job.provider, languages: job.languages.join(",") },
    };
    if (job.status === "completed")
      return { ...base, step: "completed", percent: 100, status: "succeeded", message: "Product copy ready" };
    if (job.status === "failed")
      return { ...base, step: "failed", percent: 100, status: "failed", message: job.statusReason ?? "Job failed" };
    return { ...base, step: "received", percent: 5, status: "running", message: "Job received" };
  }
}
