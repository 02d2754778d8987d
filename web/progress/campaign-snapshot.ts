/**
 * A campaign's snapshot under the one policy (resource-snapshot.ts). The workflow saves the
 * campaign with every recipient before its first event, records each recipient's outcome before
 * the event that reports it, and marks the campaign finished before its terminal event, so the row
 * is never behind the stream: it is ahead when Valkey lost events (more outcomes, or the end).
 */
import { progressOfCampaign } from "../../shared/campaign-steps.ts";
import type { Logger } from "../../shared/logger.ts";
import { isTerminal, type ProgressSnapshot } from "../../shared/progress-event.ts";
import type { CampaignsClient } from "../adapters/campaigns-client.ts";
import type { CampaignsReadRepo, CampaignSummary, CampaignView, RecipientView } from "../adapters/campaigns-read.repo.ts";
import type { ProgressHub } from "./progress-hub.ts";
import { currentSnapshot, type CurrentState, type KnownState, type SnapshotSource } from "./resource-snapshot.ts";

/** What a campaign's stored outcomes say, for when the stream is behind them or cannot be read. */
export function snapshotFromCampaignRow(
  c: CampaignSummary & { invocationId: string | null; recipients?: Array<Pick<RecipientView, "status">> },
): ProgressSnapshot {
  const { sent, bounced, failed, pending, cancelled, total } = c.counts;
  const suppressed = c.recipients?.filter((r) => r.status === "suppressed").length ?? 0;
  return {
    ...progressOfCampaign(c.status, c.counts, suppressed),
    seq: 0,
    at: null,
    invocationId: c.invocationId,
    data: { sent, bounced, failed, pending, cancelled, total, suppressed },
  };
}

/** Recipients with an outcome, as a snapshot's counts say. */
function outcomes(s: Pick<ProgressSnapshot, "data">): number {
  const n = (k: string) => (typeof s.data?.[k] === "number" ? s.data[k] : 0);
  return n("sent") + n("bounced") + n("failed");
}

/** More outcomes recorded than the stream reports, or the end where the stream has not reached it. */
export function campaignRowIsAhead(
  stored: Pick<ProgressSnapshot, "status" | "data">,
  seen: Pick<ProgressSnapshot, "status" | "data">,
): boolean {
  return (isTerminal(stored) && !isTerminal(seen)) || outcomes(stored) > outcomes(seen);
}

export type CampaignSnapshotDeps = { campaigns: CampaignsClient; campaignStore: CampaignsReadRepo; hub: ProgressHub };

function campaignSource(deps: CampaignSnapshotDeps): SnapshotSource<CampaignView> {
  return {
    kind: "campaign",
    logKey: "campaignId",
    // The campaign's row names its invocation; the stream holds an event per recipient.
    reads: "newest",
    readRow: (id) => deps.campaignStore.find(id),
    fromRow: snapshotFromCampaignRow,
    rowIsAhead: campaignRowIsAhead,
    status: (id) => deps.campaigns.status(id),
  };
}

/**
 * The campaign's snapshot and the campaign (with its recipients) it was checked against, read
 * after the stream: its rows are at least as new as the snapshot.
 */
export function currentCampaignSnapshot(
  deps: CampaignSnapshotDeps,
  campaignId: string,
  log: Logger,
  known: KnownState<CampaignView> = {},
): Promise<CurrentState<CampaignView>> {
  return currentSnapshot(deps, campaignSource(deps), campaignId, log, known);
}
