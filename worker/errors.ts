/**
 * The one place where failures are sorted into permanent and transient. Adapters throw
 * `PermanentError` for outcomes no retry can change (declined card, SMTP 5xx, unknown SKU);
 * every service installs `asTerminalError`, so those end the step as a TerminalError while
 * everything else (network, timeouts, 5xx) is retried by Restate.
 */
import * as restate from "@restatedev/restate-sdk";

export class PermanentError extends Error {
  override name = "PermanentError";
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export function asTerminalError(err: unknown): restate.TerminalError | undefined {
  if (err instanceof PermanentError)
    return new restate.TerminalError(err.message, { errorCode: 409, metadata: { code: err.code } });
  return undefined;
}

/** Retry policy for steps that talk to our own infrastructure: forever, but backing off to 10 s. */
export const infraRetry = { initialRetryInterval: { milliseconds: 100 }, maxRetryInterval: { seconds: 10 } } as const;

/**
 * Retry policy for calls to the payment provider: backing off to 30 s, and ending after `attempts`
 * (about five minutes at 12). A provider that keeps failing (a 500 it stored under our idempotency
 * key, a revoked key) then ends the step: the order is compensated and shows as failed to the
 * operators, instead of retrying forever.
 */
export function paymentRetry(attempts: number) {
  return {
    initialRetryInterval: { milliseconds: 500 },
    maxRetryInterval: { seconds: 30 },
    maxRetryAttempts: attempts,
  } as const;
}
