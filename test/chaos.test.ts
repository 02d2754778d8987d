/**
 * The small chaos run: 60 orders from 20 shoppers at a time, each watching its progress stream,
 * while the worker is SIGKILLed six times, restate-server is killed and restarted, Valkey is
 * away for 5 s and PostgreSQL restarts. Every invariant of `npm run chaos` must hold: every kind
 * of fault, at a size the suite can afford on every run (`npm run chaos` runs 1,000 orders).
 */
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { runChaos } from "../scripts/chaos/chaos.ts";
import { formatFigures } from "../scripts/chaos/invariants.ts";
import { ROOT } from "../scripts/stack/stack.ts";

test("60 orders through worker, restate-server, Valkey and PostgreSQL failures: every invariant holds", async (t) => {
  const report = await runChaos({
    orders: 60,
    concurrency: 20,
    workerKills: 6,
    valkeyOutageMs: 5_000,
    shopperDeadlineMs: 180_000,
    logDir: path.join(ROOT, "test-results", "chaos"),
  });
  t.diagnostic(`\n${formatFigures(report.figures)}`);
  t.diagnostic(report.timeline.map((e) => `+${(e.atMs / 1000).toFixed(1)}s ${e.what}`).join("\n"));
  assert.deepEqual(report.violations, []);
  const f = report.figures;
  // The disruptions really happened, and the run saw every kind of outcome it is meant to exercise.
  assert.equal(f.workerKills, 6);
  assert.ok(report.timeline.some((e) => e.what === "restate-server restarted"));
  assert.ok(report.timeline.some((e) => e.what === "Valkey started again"));
  assert.ok(report.timeline.some((e) => e.what === "PostgreSQL restarted"));
  assert.equal(f.submitted, 60);
  assert.ok((f.outcomes.fulfilled ?? 0) > 0 && (f.outcomes.rejected ?? 0) > 0, JSON.stringify(f.outcomes));
  assert.ok(f.emailsReceived >= (f.outcomes.fulfilled ?? 0) * 2);
});
