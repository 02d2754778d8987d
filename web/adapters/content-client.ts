/**
 * The web's way into the ContentGeneration workflow: Restate's typed ingress client, with only the
 * worker's *types* imported.
 */
import * as clients from "@restatedev/restate-sdk-clients";
import type { ContentJobInput } from "../../shared/content-job.schema.ts";
import type { ProgressSnapshot } from "../../shared/progress-event.ts";
import type { ContentGeneration } from "../../worker/content-generation.workflow.ts";
import { callOptions, connectIngress, snapshotOf, submitted, type Submitted } from "./ingress.ts";

const contentGeneration: ContentGeneration = { name: "ContentGeneration" };

export function createContentClient(opts: { ingressUrl: string; timeoutMs?: number }) {
  const ingress = connectIngress(opts.ingressUrl);
  const timeout = opts.timeoutMs ?? 5_000;
  const job = (id: string) => ingress.workflowClient(contentGeneration, id);

  return {
    /** Starts the workflow; submitting the same job id again is a no-op that returns the same invocation. */
    submit: (input: ContentJobInput): Promise<Submitted> =>
      submitted("the content job", job(input.jobId).workflowSubmit(input, clients.rpc.sendOpts(callOptions(timeout)))),
    /** The workflow's durable snapshot (seq 0 before its first step). */
    status: (jobId: string): Promise<ProgressSnapshot> => snapshotOf(job(jobId).status(clients.rpc.opts(callOptions(timeout)))),
  };
}
export type ContentClient = ReturnType<typeof createContentClient>;
