/**
 * The steps of a content job as the page shows them: the progress events ContentGeneration
 * publishes and the snapshot the web derives from a stored job row when its stream is behind it.
 * One table, read by both, so the bar means the same thing wherever it is drawn.
 */
import type { ContentJobStatus } from "./content-job.schema.ts";
import type { ProgressDraft, ProgressSnapshot } from "./progress-event.ts";

export type ContentStepDraft = Omit<ProgressDraft, "seq" | "data">;

const step = (step: string, percent: number, message: string): ContentStepDraft => ({
  kind: "step",
  step,
  percent,
  status: "running",
  message,
});

export const contentSteps = {
  received: step("received", 5, "Job received"),
  writing: step("writing", 15, "Writing the description"),
  described: step("described", 60, "Description written"),
  translating: (languages: number) => step("translating", 65, `Translating into ${languages} language(s)`),
  completed: { kind: "terminal", step: "completed", percent: 100, status: "succeeded", message: "Product copy ready" },
  /** The job ended without its copy; `reason` is what the page says instead. */
  failed: (reason: string | null): ContentStepDraft => ({
    kind: "terminal",
    step: "failed",
    percent: 100,
    status: "failed",
    message: reason ?? "Job failed",
  }),
} satisfies Record<string, ContentStepDraft | ((...args: never[]) => ContentStepDraft)>;

type Shown = Pick<ProgressSnapshot, "percent" | "status" | "step" | "message">;
const shown = (d: ContentStepDraft): Shown => ({ percent: d.percent, status: d.status, step: d.step, message: d.message });

/** What a stored job shows when no progress event is at hand: a running job is as far as its first step. */
export function progressOfContentJob(job: { status: ContentJobStatus; statusReason: string | null }): Shown {
  if (job.status === "completed") return shown(contentSteps.completed);
  if (job.status === "failed") return shown(contentSteps.failed(job.statusReason));
  return shown(contentSteps.received);
}
