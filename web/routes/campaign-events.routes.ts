/**
 * `GET /emails/:id/events`: a campaign's progress as SSE (see progress/progress-stream.ts). Each event
 * sends the panel (bar and counts) and the one recipient row that changed; the first frame of a
 * fresh stream also re-sends every row, read after the snapshot so nothing falls in between.
 */
import Router from "@koa/router";
import { campaignIdSchema } from "../../shared/campaign.schema.ts";
import type { ProgressEvent } from "../../shared/progress-event.ts";
import { campaignRowIsAhead, currentCampaignSnapshot } from "../progress/campaign-snapshot.ts";
import type { ProgressHub } from "../progress/progress-hub.ts";
import type { CampaignsClient } from "../adapters/campaigns-client.ts";
import type { CampaignsReadRepo, RecipientStatus, RecipientView } from "../adapters/campaigns-read.repo.ts";
import type { OwnershipStore } from "../adapters/ownership.store.ts";
import type { AppState } from "../app-state.ts";
import { progressRoute } from "../progress/progress-route.ts";
import type { ProgressStreamDeps, ProgressStreamKind } from "../progress/stream-kind.ts";
import { html } from "../../shared/html.ts";
import { campaignPanel, recipientRow, recipientRowsOob } from "../views/campaign-page.view.ts";

export interface CampaignStreamDeps {
  campaigns: CampaignsClient;
  campaignStore: CampaignsReadRepo;
  hub: ProgressHub;
  restateUiUrl: string | undefined;
}

const OUTCOMES: ReadonlySet<string> = new Set<RecipientStatus>(["sent", "bounced", "failed"]);

/** The recipient an event reports on, if it is a per-recipient event. */
export function recipientFromEvent(e: ProgressEvent): RecipientView | null {
  const { index, address, outcome, error } = e.data ?? {};
  if (typeof index !== "number" || typeof address !== "string" || typeof outcome !== "string" || !OUTCOMES.has(outcome))
    return null;
  return { position: index, address, status: outcome as RecipientStatus, error: typeof error === "string" ? error : null };
}

export function campaignStream(deps: CampaignStreamDeps): ProgressStreamKind {
  return {
    kind: "campaign",
    route: "/emails/:id/events",
    idSchema: campaignIdSchema,
    notFound: "We could not find that campaign.",
    logKey: "campaignId",
    // Built from the newest event as read after subscribing, and checked against the campaign read
    // after it: its rows are at least as new as the snapshot. Only the snapshot's frame sends them.
    loadSnapshot: async (campaignId, log) => {
      const { snapshot, row, fromStream } = await currentCampaignSnapshot(deps, campaignId, log);
      const campaign = row !== undefined ? row : await deps.campaignStore.find(campaignId);
      return { snapshot, extra: campaign?.recipients ?? null, complete: fromStream };
    },
    ahead: campaignRowIsAhead,
    render: ({ id, csrfToken }, shown, event, extra) => {
      const opts = { csrfToken, restateUiUrl: deps.restateUiUrl, mailUiUrl: undefined };
      const changed = event ? recipientFromEvent(event) : null;
      const rows = !event && Array.isArray(extra) ? (extra as RecipientView[]) : null;
      const data = html`${campaignPanel(id, shown, opts)}${changed ? recipientRow(changed, true) : ""}${rows ? recipientRowsOob(rows) : ""}`;
      return [{ event: "progress", data: data.value }];
    },
  };
}

export function campaignEventRoutes(
  deps: ProgressStreamDeps & { ownership: OwnershipStore; campaignStream: ProgressStreamKind },
) {
  const router = new Router<AppState>();
  router.get(deps.campaignStream.route, progressRoute(deps.campaignStream, deps));
  return router;
}
