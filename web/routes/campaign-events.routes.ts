/**
 * `GET /emails/:id/events`: a campaign's progress as SSE (see progress/progress-stream.ts). Each event
 * sends the panel (bar and counts) and the one recipient row that changed; the first frame of a
 * fresh stream also re-sends every row, read after the snapshot so nothing falls in between.
 */
import Router from "@koa/router";
import { campaignIdSchema } from "../../shared/campaign.schema.ts";
import type { ProgressEvent, ProgressSnapshot } from "../../shared/progress-event.ts";
import { currentCampaignSnapshot } from "../progress/campaign-snapshot.ts";
import type { CampaignsClient } from "../adapters/campaigns-client.ts";
import type { CampaignsReadRepo, RecipientStatus, RecipientView } from "../adapters/campaigns-read.repo.ts";
import type { OwnershipStore } from "../adapters/ownership.store.ts";
import type { ProgressHub } from "../progress/progress-hub.ts";
import type { AppState } from "../app-state.ts";
import type { SseStreams } from "../progress/sse-streams.ts";
import { progressRoute } from "../progress/progress-route.ts";
import { html } from "../../shared/html.ts";
import { campaignPanel, recipientRow, recipientRowsOob } from "../views/campaign-page.view.ts";

export interface CampaignEventsDeps {
  campaigns: CampaignsClient;
  campaignStore: CampaignsReadRepo;
  ownership: OwnershipStore;
  hub: ProgressHub;
  restateUiUrl: string | undefined;
  keepAliveMs: number;
  sseStreams?: SseStreams | undefined;
}

const OUTCOMES: ReadonlySet<string> = new Set<RecipientStatus>(["sent", "bounced", "failed"]);

/** The recipient an event reports on, if it is a per-recipient event. */
export function recipientFromEvent(e: ProgressEvent): RecipientView | null {
  const { index, address, outcome, error } = e.data ?? {};
  if (typeof index !== "number" || typeof address !== "string" || typeof outcome !== "string" || !OUTCOMES.has(outcome))
    return null;
  return { position: index, address, status: outcome as RecipientStatus, error: typeof error === "string" ? error : null };
}

export function campaignEventRoutes(deps: CampaignEventsDeps) {
  const router = new Router<AppState>();

  router.get(
    "/emails/:id/events",
    progressRoute({
      ...deps,
      kind: "campaign",
      idSchema: campaignIdSchema,
      notFound: "We could not find that campaign.",
      logKey: "campaignId",
      stream: (ctx, campaignId, log) => {
        const opts = { csrfToken: ctx.state.session.csrfToken, restateUiUrl: deps.restateUiUrl, mailUiUrl: undefined };
        let rows: RecipientView[] | null = null;
        const loadSnapshot = async (): Promise<ProgressSnapshot> => {
          const snapshot = await currentCampaignSnapshot(deps, campaignId, log);
          rows = (await deps.campaignStore.find(campaignId))?.recipients ?? null;
          return snapshot;
        };
        return {
          loadSnapshot,
          render: (shown, event) => {
            const changed = event ? recipientFromEvent(event) : null;
            const data = html`${campaignPanel(campaignId, shown, opts)}${changed ? recipientRow(changed, true) : ""}${!event && rows ? recipientRowsOob(rows) : ""}`;
            return [{ event: "progress", data: data.value }];
          },
        };
      },
    }),
  );

  return router;
}
