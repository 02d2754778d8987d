/**
 * What every web → Restate client shares: one connection setup, call options that carry the
 * trace context, the mapping of a workflow submission, the parsed `status` snapshot, and the one
 * error type the routes turn into a 503.
 */
import * as clients from "@restatedev/restate-sdk-clients";
import { progressSnapshotSchema, type ProgressSnapshot } from "../../shared/progress-event.ts";
import { traceHeaders } from "../../shared/telemetry.ts";
import { createKeepAliveFetch } from "./keep-alive-fetch.ts";

export class RestateUnavailableError extends Error {
  override name = "RestateUnavailableError";
}

export interface Submitted {
  invocationId: string;
  /** The same id was submitted before: this is that workflow, not a second one. */
  alreadySubmitted: boolean;
}

/** One keep-alive connection pool for every ingress client of the process. */
let sharedFetch: typeof fetch | undefined;

export function connectIngress(url: string): clients.Ingress {
  sharedFetch ??= createKeepAliveFetch();
  return clients.connect({ url, retry: { maxAttempts: 3 }, fetch: sharedFetch });
}

/** Per-call options: a timeout, and the active trace context for Restate to continue. */
export function callOptions(timeout: number) {
  return { timeout, headers: traceHeaders() };
}

/** Awaits a submission; a Restate that does not accept it becomes RestateUnavailableError. */
export async function submitted(what: string, submission: Promise<clients.WorkflowSubmission<unknown>>): Promise<Submitted> {
  try {
    const sub = await submission;
    return { invocationId: sub.invocationId, alreadySubmitted: sub.status === "PreviouslyAccepted" };
  } catch (err) {
    throw new RestateUnavailableError(`Restate did not accept ${what}`, { cause: err });
  }
}

/** A workflow's durable snapshot, as its shared `status` handler returns it (checked, not trusted). */
export async function snapshotOf(status: PromiseLike<unknown>): Promise<ProgressSnapshot> {
  return progressSnapshotSchema.parse(await status);
}
