/**
 * Durable progress for one resource inside a handler. `seq` comes from the handler's own control
 * flow, which Restate replays identically, so the n-th event always has seq n. Each event is
 * published in a named step (best-effort, never failing the handler) and kept as the durable
 * snapshot in workflow state, which the shared `status` handler returns.
 */
import * as restate from "@restatedev/restate-sdk";
import { emptySnapshot, type ProgressDraft, type ProgressSnapshot, type ResourceRef } from "../shared/progress-event.ts";
import type { ProgressPublisher } from "./adapters/progress-publisher.ts";
import { infraRetry } from "./errors.ts";

export const SNAPSHOT_STATE_KEY = "snapshot";

export interface ProgressTracker {
  /**
   * Publishes the next event. `record`, when given, is the step's own bookkeeping (an idempotent
   * write such as the order's status); it runs first, in the same durable step, saving a journal
   * entry and a round trip per step.
   */
  emit(draft: Omit<ProgressDraft, "seq">, record?: () => Promise<unknown>): Promise<void>;
}

export function trackProgress(
  ctx: restate.WorkflowContext,
  resource: ResourceRef,
  publisher: ProgressPublisher,
): ProgressTracker {
  let seq = 0;
  const invocationId = ctx.request().id;
  return {
    async emit(draft, record) {
      seq += 1;
      const n = seq;
      const { event } = record
        ? await ctx.run(
            `record ${draft.step}`,
            async () => {
              await record();
              return publisher.publish(resource, { ...draft, seq: n });
            },
            infraRetry,
          )
        : await ctx.run(`progress: ${draft.step}`, () => publisher.publish(resource, { ...draft, seq: n }));
      const snapshot: ProgressSnapshot = { ...draft, seq: event.seq, at: event.at, invocationId };
      ctx.set(SNAPSHOT_STATE_KEY, snapshot);
    },
  };
}

/** The shared `status` handler every progress-publishing workflow exposes: its durable snapshot. */
export function snapshotHandler() {
  return restate.handlers.workflow.shared(
    async (ctx: restate.WorkflowSharedContext): Promise<ProgressSnapshot> =>
      (await ctx.get<ProgressSnapshot>(SNAPSHOT_STATE_KEY)) ?? emptySnapshot,
  );
}
