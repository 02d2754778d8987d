/**
 * Email campaigns through Restate's typed ingress client: submit, status and cancel. Only the
 * worker's *types* are imported; the workflow runs in the worker process.
 */
import * as clients from "@restatedev/restate-sdk-clients";
import type { CampaignInput } from "../../shared/campaign.schema.ts";
import type { ProgressSnapshot } from "../../shared/progress-event.ts";
import type { EmailCampaign } from "../../worker/email-campaign.workflow.ts";
import { RestateUnavailableError, callOptions, connectIngress, snapshotOf, submitted, type Submitted } from "./ingress.ts";

const emailCampaign: EmailCampaign = { name: "EmailCampaign" };

export function createCampaignsClient(opts: { ingressUrl: string; timeoutMs?: number }) {
  const ingress = connectIngress(opts.ingressUrl);
  const timeout = opts.timeoutMs ?? 5_000;
  const campaign = (id: string) => ingress.workflowClient(emailCampaign, id);

  /** Asks the campaign to stop after the message being sent; false when it had already ended. */
  async function cancel(campaignId: string): Promise<boolean> {
    try {
      return (await campaign(campaignId).cancel(clients.rpc.opts(callOptions(timeout)))).cancelling;
    } catch (err) {
      throw new RestateUnavailableError("Restate did not accept the cancellation", { cause: err });
    }
  }

  return {
    /** Starts the workflow; submitting the same campaign id again is a no-op that returns the same invocation. */
    submit: (input: CampaignInput): Promise<Submitted> =>
      submitted("the campaign", campaign(input.campaignId).workflowSubmit(input, clients.rpc.sendOpts(callOptions(timeout)))),
    /** The workflow's durable snapshot (seq 0 before its first step). */
    status: (campaignId: string): Promise<ProgressSnapshot> =>
      snapshotOf(campaign(campaignId).status(clients.rpc.opts(callOptions(timeout)))),
    cancel,
  };
}
export type CampaignsClient = ReturnType<typeof createCampaignsClient>;
