/**
 * Why an order ended without being fulfilled. `rejected` and `cancelled` are business outcomes
 * (the workflow completes normally after compensating); anything else terminal is `failed`.
 */
import * as restate from "@restatedev/restate-sdk";

export type OrderOutcome = "fulfilled" | "rejected" | "cancelled" | "failed";

export class OrderStop extends restate.TerminalError {
  readonly outcome: "rejected" | "cancelled";
  constructor(outcome: "rejected" | "cancelled", reason: string) {
    super(reason, { errorCode: 409 });
    this.outcome = outcome;
  }
}

/** A step's permanent business refusal (declined card, unknown product) arrives with code 409. */
export const REJECTION_CODE = 409;

export function outcomeOf(err: restate.TerminalError): Exclude<OrderOutcome, "fulfilled"> {
  if (err instanceof OrderStop) return err.outcome;
  // The journal keeps a step's error code and message, not its class: classify by code.
  return err.code === REJECTION_CODE ? "rejected" : "failed";
}
