/**
 * EmailCampaign (workflow, key = campaign id)
 *   1. persist campaign   the campaign (its body stored once) and one row per recipient, idempotent
 *                         on the id: pending, or suppressed for an address that unsubscribed
 *                         earlier; suppressed recipients are skipped and not counted in N
 *   2. for each recipient still to send, in order:
 *        cancelled?       the durable promise resolved by the shared `cancel` handler ends the loop
 *        send             EmailSender.send with a reference to the stored campaign and the recipient's
 *                         unsubscribe URL (not the body), idempotency key `campaign:<id>:<address>`; its TerminalError
 *                         (bounce, retries exhausted) is that recipient's outcome, not the campaign's
 *        record outcome   the recipient's row
 *        progress         "k of N sent", with the counts and this recipient's outcome in `data`
 *        pace             a durable sleep of 1/rate seconds
 *   3. finish             completed, or cancelled (pending rows become cancelled); terminal event
 * Cancelling the invocation in Restate ends the loop the same way as the `cancel` handler.
 */
import * as restate from "@restatedev/restate-sdk";
import { campaignInputSchema } from "../shared/campaign.schema.ts";
import { campaignSteps } from "../shared/campaign-steps.ts";
import { isTerminal, type ProgressSnapshot } from "../shared/progress-event.ts";
import type { CampaignsRepo, RecipientOutcome } from "./adapters/campaigns.repo.ts";
import type { ProgressPublisher } from "./adapters/progress-publisher.ts";
import { emailSenderApi } from "./email-sender.service.ts";
import { asTerminalError, infraRetry } from "./errors.ts";
import { SNAPSHOT_STATE_KEY, snapshotHandler, trackProgress } from "./progress-tracker.ts";
import { unsubscribeUrl } from "../shared/unsubscribe-link.ts";
import type { CampaignEmailRef } from "./templates/campaign-email.template.ts";

export interface EmailCampaignDeps {
  campaigns: CampaignsRepo;
  progress: ProgressPublisher;
  maxRecipients: number;
  sendsPerSecond: number;
  /** The web's address, for the unsubscribe links. */
  publicWebUrl: string;
}

export interface CampaignOutcome {
  campaignId: string;
  status: "completed" | "cancelled";
  sent: number;
  bounced: number;
  failed: number;
  cancelled: number;
}

const CANCEL = "cancel";

async function sendOne(ctx: restate.WorkflowContext, key: string, to: string, data: CampaignEmailRef): Promise<RecipientOutcome> {
  try {
    const r = await ctx.serviceClient(emailSenderApi).send({ idempotencyKey: key, to, template: "campaign", data });
    return { status: "sent", messageId: r.messageId };
  } catch (err) {
    if (!(err instanceof restate.TerminalError) || err instanceof restate.CancelledError) throw err;
    const bounced = (err.metadata?.code ?? (err.code === 409 ? "bounced" : "failed")) === "bounced";
    return { status: bounced ? "bounced" : "failed", error: err.message };
  }
}

export function createEmailCampaignWorkflow(deps: EmailCampaignDeps) {
  const pauseMs = Math.max(1, Math.round(1000 / deps.sendsPerSecond));
  return restate.workflow({
    name: "EmailCampaign",
    handlers: {
      run: restate.handlers.workflow.workflow(
        { input: restate.serde.schema(campaignInputSchema) },
        async (ctx: restate.WorkflowContext, input): Promise<CampaignOutcome> => {
          const id = ctx.key;
          if (input.campaignId !== id)
            throw new restate.TerminalError("The campaign id does not match the workflow key", { errorCode: 400 });
          if (input.recipients.length > deps.maxRecipients)
            throw new restate.TerminalError(`At most ${deps.maxRecipients} recipients`, { errorCode: 400 });
          const progress = trackProgress(ctx, { kind: "campaign", id }, deps.progress);
          const suppressed = new Set(
            await ctx.run("persist campaign", () => deps.campaigns.create(input, ctx.request().id), infraRetry),
          );
          const recipients = input.recipients.filter((address) => !suppressed.has(address));
          const total = recipients.length;
          const n = { sent: 0, bounced: 0, failed: 0 };
          const counts = (done: number) => ({ ...n, pending: total - done, total, suppressed: suppressed.size });
          await progress.emit({ ...campaignSteps.started(total), data: counts(0) });

          let done = 0;
          let stopped = false;
          try {
            for (const [index, address] of recipients.entries()) {
              if ((await ctx.promise<boolean>(CANCEL).peek()) !== undefined) {
                stopped = true;
                break;
              }
              const data = { campaignId: id, unsubscribeUrl: unsubscribeUrl(deps.publicWebUrl, id, address) };
              const outcome = await sendOne(ctx, `campaign:${id}:${address}`, address, data);
              await ctx.run("record outcome", () => deps.campaigns.recordOutcome(id, address, outcome), infraRetry);
              n[outcome.status] += 1;
              done += 1;
              await progress.emit({
                ...campaignSteps.recipient({ ...n, total }),
                data: {
                  ...counts(done),
                  index,
                  address,
                  outcome: outcome.status,
                  error: "error" in outcome ? outcome.error : null,
                },
              });
              if (done < total) await ctx.sleep(pauseMs, "pace");
            }
          } catch (err) {
            if (!(err instanceof restate.CancelledError)) throw err;
            stopped = true;
          }

          const status = stopped ? "cancelled" : "completed";
          await ctx.run("finish campaign", () => deps.campaigns.finish(id, status), infraRetry);
          await progress.emit({
            ...campaignSteps[status]({ ...n, total }, suppressed.size),
            data: { ...counts(done), cancelled: total - done },
          });
          return { campaignId: id, status, ...n, cancelled: total - done };
        },
      ),

      /** Stops the remaining sends; the message being sent finishes. False when the campaign already ended. */
      cancel: restate.handlers.workflow.shared(async (ctx: restate.WorkflowSharedContext): Promise<{ cancelling: boolean }> => {
        const snapshot = await ctx.get<ProgressSnapshot>(SNAPSHOT_STATE_KEY);
        if (snapshot && isTerminal(snapshot)) return { cancelling: false };
        const promise = ctx.promise<boolean>(CANCEL);
        if ((await promise.peek()) === undefined) await promise.resolve(true);
        return { cancelling: true };
      }),

      status: snapshotHandler(),
    },
    options: { asTerminalError, workflowRetention: { days: 7 } },
  });
}

export type EmailCampaign = ReturnType<typeof createEmailCampaignWorkflow>;
