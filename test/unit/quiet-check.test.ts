/**
 * The quiet check's spreading rules, on its own: streams that heard something are not due, the
 * streams due in one tick are read together in batches, one tick checks at most `maxPerTick`, and
 * a stream forgotten is never checked again. Ticks are run by the test (`tick()`), not by a timer.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createLogger } from "../../shared/logger.ts";
import { emptySnapshot, type ProgressSnapshot } from "../../shared/progress-event.ts";
import { createQuietCheck, type QuietCheckedKind, type QuietWatched } from "../../web/progress/quiet-check.ts";

const logger = createLogger({ name: "quiet-check-test", level: "silent", format: "json" });

function kindReading(): QuietCheckedKind & { reads: string[][] } {
  const reads: string[][] = [];
  return {
    kind: "order",
    reads,
    storedStates: (ids) => {
      reads.push(ids);
      return Promise.resolve(new Map(ids.map((id) => [id, { ...emptySnapshot, step: `stored ${id}` }])));
    },
  };
}

function stream(id: string, kind: QuietCheckedKind): QuietWatched & { seen: ProgressSnapshot[] } {
  const seen: ProgressSnapshot[] = [];
  return { id, quietKind: kind, quietDueAt: 0, seen, onStoredState: (s) => void seen.push(s) };
}

describe("quiet check", () => {
  it("reads only streams that have been quiet, together, and spreads a crowd over ticks", async () => {
    const kind = kindReading();
    const check = createQuietCheck({ quietMs: 60_000, logger, batchSize: 2, maxPerTick: 3 });
    const streams = ["a", "b", "c", "d", "e"].map((id) => stream(id, kind));
    for (const s of streams) check.watch(s);

    await check.tick();
    assert.deepEqual(kind.reads, [], "nobody is due a quiet period after being watched");

    for (const s of streams) s.quietDueAt = 0; // as if a whole quiet period had passed
    check.heard(streams[4]!);
    await check.tick();
    assert.deepEqual(kind.reads, [["a", "b"], ["c"]], "at most three in one tick, two ids per read");
    assert.deepEqual(
      streams.map((s) => s.seen.length),
      [1, 1, 1, 0, 0],
    );

    await check.tick();
    assert.deepEqual(kind.reads.slice(2), [["d"]], "the rest in the next tick; the one that heard something is not due");

    check.forget(streams[3]!);
    streams[3]!.quietDueAt = 0;
    await check.tick();
    assert.equal(kind.reads.length, 3, "a forgotten stream is not read");
    assert.equal(check.size, 4);
    for (const s of streams) check.forget(s);
    assert.equal(check.size, 0);
  });

  it("reads an id once however many streams follow it, and a failed read skips the batch", async () => {
    let fail = true;
    const reads: string[][] = [];
    const kind: QuietCheckedKind = {
      kind: "order",
      storedStates: (ids) => {
        reads.push(ids);
        if (fail) return Promise.reject(new Error("PostgreSQL away"));
        return Promise.resolve(new Map(ids.map((id) => [id, emptySnapshot])));
      },
    };
    const check = createQuietCheck({ quietMs: 60_000, logger });
    const twins = [stream("same", kind), stream("same", kind)];
    for (const s of twins) check.watch(s);
    for (const s of twins) s.quietDueAt = 0;
    await check.tick();
    assert.deepEqual(reads, [["same"]]);
    assert.deepEqual(
      twins.map((s) => s.seen.length),
      [0, 0],
    );
    fail = false;
    for (const s of twins) s.quietDueAt = 0;
    await check.tick();
    assert.deepEqual(
      twins.map((s) => s.seen.length),
      [1, 1],
    );
    for (const s of twins) check.forget(s);
  });
});
