/** Waiting for a pacing slot that LlmQuota handed out, inside a model call's step. */
import { setTimeout as sleep } from "node:timers/promises";

/** Waits until a pacing slot (epoch ms from LlmQuota) has come; returns at once when it has passed. */
export async function waitForSlot(notBefore: number, signal?: AbortSignal): Promise<void> {
  const delay = notBefore - Date.now();
  if (delay > 0) await sleep(delay, undefined, signal ? { signal } : undefined);
}
