/**
 * Email campaigns through Restate's typed ingress client: submit, status and cancel. Only the
 * worker's *types* are imported; the workflow runs in the worker process.
 */
import * as clients from "@restatedev/restate-sdk-clients";
import { traceHeaders } from "../../shared/telemetry.ts";
import type { CampaignInput } from "../../shared/campaign.schema.ts";
import { progressSnapshotSchema, type ProgressSnapshot } from "../../shared/progress-event.ts";
import type { EmailCampaign } from "../../worker/email-campaign.workflow.ts";
import { RestateUnavailableError } from "./orders-client.ts";

const emailCampaign: EmailCampaign = { name: "EmailCampaign" };

export function createCampaignsClient(opts: { ingressUrl: string; timeoutMs?: number }) {
  const ingress = clients.connect({ url: opts.ingressUrl, retry: { maxAttempts: 3 } });
  const timeout = opts.timeoutMs ?? 5_000;

  /** Starts the workflow; submitting the same campaign id again is a no-op that returns the same invocation. */
  async function submit(input: CampaignInput): Promise<{ invocationId: string; alreadySubmitted: boolean }> {
    try {
      const sub = await ingress
        .workflowClient(emailCampaign, input.campaignId)
        .workflowSubmit(input, clients.rpc.sendOpts({ timeout, headers: traceHeaders() }));
      return { invocationId: sub.invocationId, alreadySubmitted: sub.status === "PreviouslyAccepted" };
    } catch (err) {
      throw new RestateUnavailableError("Restate did not accept the campaign", { cause: err });
    }
  }

  /** The workflow's durable snapshot (seq 0 before its first step). */
  async function status(campaignId: string): Promise<ProgressSnapshot> {
    const raw = await ingress
      .workflowClient(emailCampaign, campaignId)
      .status(clients.rpc.opts({ timeout, headers: traceHeaders() }));
    return progressSnapshotSchema.parse(raw);
  }

  /** Asks the campaign to stop after the message being sent; false when it had already ended. */
  async function cancel(campaignId: string): Promise<boolean> {
    try {
      const r = await ingress
        .workflowClient(emailCampaign, campaignId)
        .cancel(clients.rpc.opts({ timeout, headers: traceHeaders() }));
      return r.cancelling;
    } catch (err) {
      throw new RestateUnavailableError("Restate did not accept the cancellation", { cause: err });
    }
  }

  return { submit, status, cancel };
}
export type CampaignsClient = ReturnType<typeof createCampaignsClient>;
