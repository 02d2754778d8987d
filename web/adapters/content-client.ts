/**
 * The web's way into the ContentGeneration workflow: Restate's typed ingress client, with only the
 * worker's *types* imported.
 */
import * as clients from "@restatedev/restate-sdk-clients";
import { traceHeaders } from "../../shared/telemetry.ts";
import type { ContentJobInput } from "../../shared/content-job.schema.ts";
import { progressSnapshotSchema, type ProgressSnapshot } from "../../shared/progress-event.ts";
import type { ContentGeneration } from "../../worker/content-generation.workflow.ts";
import { RestateUnavailableError } from "./orders-client.ts";

const contentGeneration: ContentGeneration = { name: "ContentGeneration" };

export function createContentClient(opts: { ingressUrl: string; timeoutMs?: number }) {
  const ingress = clients.connect({ url: opts.ingressUrl, retry: { maxAttempts: 3 } });
  const timeout = opts.timeoutMs ?? 5_000;

  /** Starts the workflow; submitting the same job id again is a no-op that returns the same invocation. */
  async function submit(input: ContentJobInput): Promise<{ invocationId: string; alreadySubmitted: boolean }> {
    try {
      const sub = await ingress
        .workflowClient(contentGeneration, input.jobId)
        .workflowSubmit(input, clients.rpc.sendOpts({ timeout, headers: traceHeaders() }));
      return { invocationId: sub.invocationId, alreadySubmitted: sub.status === "PreviouslyAccepted" };
    } catch (err) {
      throw new RestateUnavailableError("Restate did not accept the content job", { cause: err });
    }
  }

  /** The workflow's durable snapshot (seq 0 before its first step). */
  async function status(jobId: string): Promise<ProgressSnapshot> {
    const raw = await ingress
      .workflowClient(contentGeneration, jobId)
      .status(clients.rpc.opts({ timeout, headers: traceHeaders() }));
    return progressSnapshotSchema.parse(raw);
  }

  return { submit, status };
}
export type ContentClient = ReturnType<typeof createContentClient>;
