/**
 * The steps of an email campaign as its page shows them: the progress events EmailCampaign
 * publishes and the snapshot the web derives from the stored outcomes when its stream is behind them.
 * One module, read by both, so the bar and its line mean the same thing wherever they are drawn.
 */
import type { ProgressDraft, ProgressSnapshot } from "./progress-event.ts";

export type CampaignStepDraft = Omit<ProgressDraft, "seq" | "data">;

/** Where a campaign's recipients stand: `total` leaves out the addresses skipped as unsubscribed. */
export interface CampaignTally {
  sent: number;
  bounced: number;
  failed: number;
  total: number;
}

/** Whole percent of the recipients with an outcome (sent, bounced or failed). */
export function campaignPercent(t: CampaignTally): number {
  return Math.floor(((t.sent + t.bounced + t.failed) / Math.max(t.total, 1)) * 100);
}

/** The bar's line while the campaign sends. */
export function sentLine(t: Pick<CampaignTally, "sent" | "total">): string {
  return `${t.sent} of ${t.total} sent`;
}

function summary(t: CampaignTally, suppressed: number): string {
  return (
    sentLine(t) +
    (t.bounced ? `, ${t.bounced} bounced` : "") +
    (t.failed ? `, ${t.failed} failed` : "") +
    (suppressed ? `, ${suppressed} unsubscribed (skipped)` : "")
  );
}

export const campaignSteps = {
  started: (total: number): CampaignStepDraft => ({
    kind: "step",
    step: "started",
    percent: 0,
    status: "running",
    message: sentLine({ sent: 0, total }),
  }),
  recipient: (t: CampaignTally): CampaignStepDraft => ({
    kind: "step",
    step: "recipient",
    percent: campaignPercent(t),
    status: "running",
    message: sentLine(t),
  }),
  completed: (t: CampaignTally, suppressed: number): CampaignStepDraft => ({
    kind: "terminal",
    step: "completed",
    percent: 100,
    status: "succeeded",
    message: `Campaign complete: ${summary(t, suppressed)}`,
  }),
  /** Stopped before every recipient had an outcome: the bar stays where the sending stopped. */
  cancelled: (t: CampaignTally, suppressed: number): CampaignStepDraft => ({
    kind: "terminal",
    step: "cancelled",
    percent: campaignPercent(t),
    status: "cancelled",
    message: `Cancelled: ${summary(t, suppressed)}`,
  }),
};

type Shown = Pick<ProgressSnapshot, "percent" | "status" | "step" | "message">;
const shown = (d: CampaignStepDraft): Shown => ({ percent: d.percent, status: d.status, step: d.step, message: d.message });

/**
 * What a stored campaign shows when no progress event is at hand: its status is the step, and an
 * ended one reads as its terminal event does (`suppressed`: the addresses skipped as unsubscribed).
 */
export function progressOfCampaign(status: "sending" | "completed" | "cancelled", t: CampaignTally, suppressed = 0): Shown {
  if (status === "sending") return { step: status, percent: campaignPercent(t), status: "running", message: sentLine(t) };
  return shown(campaignSteps[status](t, suppressed));
}
