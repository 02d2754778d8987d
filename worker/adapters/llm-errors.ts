/**
 * The one place where model-provider failures are sorted (both SDKs throw `APIError`s with
 * `status` and `headers`). 400/401/403/404 and content refusals are permanent: no retry can change
 * them. 429 is retried after the server's Retry-After. 5xx, timeouts and network errors are
 * ordinary errors: Restate retries them with the step's bounded backoff.
 */
import * as restate from "@restatedev/restate-sdk";
import { PermanentError } from "../errors.ts";
import { retryAfterMs } from "./retry-after.ts";

export { retryAfterMs };

const PERMANENT: Record<number, string> = {
  400: "rejected the request as invalid",
  401: "rejected the API key",
  403: "refused access for this API key",
  404: "does not know this model or endpoint",
  413: "rejected the request as too large",
  422: "rejected the request as invalid",
};

function statusOf(err: unknown): { status: number; headers: Headers | undefined } | null {
  if (!err || typeof err !== "object") return null;
  const { status, headers } = err as { status?: unknown; headers?: unknown };
  if (typeof status !== "number") return null;
  return { status, headers: headers instanceof Headers ? headers : undefined };
}

/** Throws the error the workflow step should end with. `label` names the provider for people. */
export function mapLlmError(err: unknown, label: string): never {
  if (err instanceof PermanentError || err instanceof restate.RetryableError) throw err;
  const s = statusOf(err);
  if (s) {
    const why = PERMANENT[s.status];
    if (why) throw new PermanentError(`llm_${s.status}`, `The model provider (${label}) ${why} (HTTP ${s.status}).`);
    if (s.status === 429) {
      const wait = retryAfterMs(s.headers);
      throw new restate.RetryableError(`The model provider (${label}) is rate limiting us (HTTP 429)`, {
        // Without a Retry-After, fall back to a polite pause rather than the step's short first interval.
        retryAfter: Math.min(wait ?? 5_000, 10 * 60_000),
        cause: err,
      });
    }
    throw new Error(`The model provider (${label}) failed (HTTP ${s.status})`, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  throw new Error(`Could not reach the model provider (${label}): ${message}`, { cause: err });
}

/** A model that declined to answer for policy reasons: permanent, with a message for the page. */
export function refusal(label: string): PermanentError {
  return new PermanentError("llm_refused", `The model (${label}) declined to write this text (content policy).`);
}
