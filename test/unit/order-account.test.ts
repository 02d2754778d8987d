/**
 * The bench's account of where one order's time goes, from journal append times: the phases up to
 * the browser's `done` add up to the order's latency, and what the journal does after `done` (the
 * last step publishes its events, then sends its email and ends) is reported apart, never as a
 * negative phase.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { latencyPhases, type JournalRow } from "../../scripts/bench/order-account.ts";

const at = (ms: number) => new Date(ms).toISOString();
const entry = (index: number, entry_type: string, ms: number, name: string | null = null): JournalRow => ({
  id: "inv-1",
  index,
  entry_type,
  name,
  appended_at: at(ms),
  entry_lite_json: null,
});

describe("latencyPhases", () => {
  const runs = [{ id: "inv-1", target_service_key: "order-1", created_at: at(1_005) }];
  const journal = [
    entry(0, "Command: Input", 1_005),
    entry(1, "Command: Run", 1_006, "place order"),
    entry(2, "Notification: Run", 1_020),
    entry(3, "Command: SetState", 1_020),
    entry(4, "Command: Run", 1_020, "ship order"),
    entry(5, "Notification: Run", 1_050),
    entry(6, "Command: Output", 1_051),
  ];

  it("splits the last step at the browser's done, so the phases before it add up to the latency", () => {
    const sample = { orderId: "order-1", postedAt: 1_000, doneAt: 1_040 };
    const phases = latencyPhases([sample], runs, journal);
    assert.deepEqual(phases, [
      { phase: "web: POST → workflow submitted", ms: 5 },
      { phase: 'Run "place order"', ms: 15 },
      { phase: 'Run "ship order"', ms: 20 },
      { phase: 'Run "ship order"', ms: 10, afterDone: true },
      { phase: "last completion → output", ms: 1, afterDone: true },
    ]);
    const before = phases.filter((p) => !p.afterDone).reduce((a, p) => a + p.ms, 0);
    assert.equal(before, sample.doneAt - sample.postedAt);
    assert.ok(phases.every((p) => p.ms > 0));
  });

  it("ends with the output's way to the browser when done comes after the output", () => {
    const phases = latencyPhases([{ orderId: "order-1", postedAt: 1_000, doneAt: 1_060 }], runs, journal);
    assert.ok(phases.every((p) => !p.afterDone));
    assert.deepEqual(phases.at(-1), { phase: "web: output → browser saw done", ms: 9 });
    assert.equal(
      phases.reduce((a, p) => a + p.ms, 0),
      60,
    );
  });
});
