/** How `npm run dev` restarts a worker or web that exited: short, growing waits, then a clear stop. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_RESTART_POLICY, nextRestart } from "../../scripts/stack/supervisor.ts";

describe("restarting an app process", () => {
  it("waits half a second after the first exit, doubling for each failure in a row, capped", () => {
    const delays = [1, 2, 3, 4].map((n) => nextRestart(n));
    assert.deepEqual(
      delays.map((d) => (d.action === "restart" ? d.delayMs : null)),
      [500, 1_000, 2_000, 4_000],
    );
    const capped = nextRestart(9, { ...DEFAULT_RESTART_POLICY, maxFailures: 20 });
    assert.deepEqual(capped, { action: "restart", delayMs: DEFAULT_RESTART_POLICY.maxDelayMs });
  });

  it("gives up after the configured number of failures in a row", () => {
    assert.equal(nextRestart(DEFAULT_RESTART_POLICY.maxFailures - 1).action, "restart");
    assert.equal(nextRestart(DEFAULT_RESTART_POLICY.maxFailures).action, "give-up");
  });
});
