/**
 * The current progress of a campaign, for a page or the start of a stream: the workflow's durable
 * `status` snapshot, or (if Restate cannot answer) one derived from the stored recipient outcomes.
 */
import { progressOfCampaign } from "../../shared/campaign-steps.ts";
import type { Logger } from "../../shared/logger.ts";
import { emptySnapshot, type ProgressSnapshot } from "../../shared/progress-event.ts";
import type { CampaignsClient } from "../adapters/campaigns-client.ts";
import type { CampaignsReadRepo, CampaignSummary } from "../adapters/campaigns-read.repo.ts";

/** What a campaign's stored outcomes say, for when the workflow cannot say it. */
export function snapshotFromCampaignRow(c: CampaignSummary & { invocationId: string | null }): ProgressSnapshot {
  const { sent, bounced, failed, pending, cancelled, total } = c.counts;
  return {
    ...progressOfCampaign(c.status, c.counts),
    seq: 0,
    at: null,
    invocationId: c.invocationId,
    data: { sent, bounced, failed, pending, cancelled, total },
  };
}

export async function currentCampaignSnapshot(
  deps: { campaigns: CampaignsClient; campaignStore: CampaignsReadRepo },
  campaignId: string,
  log: Logger,
): Promise<ProgressSnapshot> {
  try {
    return await deps.campaigns.status(campaignId);
  } catch (err) {
    log.warn({ err, campaignId }, "campaign status unavailable; using the stored outcomes");
    const row = await deps.campaignStore.find(campaignId);
    return row ? snapshotFromCampaignRow(row) : emptySnapshot;
  }
}
