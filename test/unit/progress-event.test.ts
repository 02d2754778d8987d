import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  channelName,
  emptySnapshot,
  isTerminal,
  progressEventSchema,
  progressSnapshotSchema,
  resourceFromChannel,
  seqFromStreamId,
  streamIdForSeq,
  streamKey,
  type ProgressEvent,
  type ResourceRef,
} from "../../shared/progress-event.ts";

const validEvent: ProgressEvent = {
  seq: 3,
  kind: "step",
  step: "reserved",
  percent: 40,
  status: "running",
  message: "Stock reserved",
  at: "2025-01-02T03:04:05.000Z",
};

describe("stream and channel names", () => {
  const order: ResourceRef = {
    kind: "order",
    id: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
  };

  it("builds the stream key and channel name, both tagged with the resource's id (one cluster slot)", () => {
    assert.equal(streamKey(order), "progress:order:{0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b}:events");
    assert.equal(channelName(order), "progress:order:{0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b}");
    assert.equal(channelName({ kind: "campaign", id: "c1" }), "progress:campaign:{c1}");
  });

  it("round-trips every resource kind through channelName/resourceFromChannel", () => {
    for (const r of [order, { kind: "content", id: "42" }, { kind: "campaign", id: "x:y" }] satisfies ResourceRef[]) {
      assert.deepEqual(resourceFromChannel(channelName(r)), r);
    }
  });

  it("returns null for channels that are not progress channels", () => {
    assert.equal(resourceFromChannel("foo"), null);
    assert.equal(resourceFromChannel(""), null);
    assert.equal(resourceFromChannel("progress:"), null);
    assert.equal(resourceFromChannel("progress:order"), null);
    assert.equal(resourceFromChannel("progress:order:"), null);
    assert.equal(resourceFromChannel("progress:unknownkind:1"), null);
    assert.equal(resourceFromChannel("progress:Order:{1}"), null);
    assert.equal(resourceFromChannel("progress:order:1"), null, "an untagged name is not a resource channel");
    assert.equal(resourceFromChannel("progress:order:{}"), null);
    assert.equal(resourceFromChannel("xprogress:order:1"), null);
  });
});

describe("stream ids", () => {
  it("derives the stream entry id from seq", () => {
    assert.equal(streamIdForSeq(1), "1-0");
    assert.equal(streamIdForSeq(1234), "1234-0");
  });

  it("parses seq back from a stream id", () => {
    assert.equal(seqFromStreamId("1234-0"), 1234);
    assert.equal(seqFromStreamId("7-5"), 7);
    for (const seq of [1, 2, 99, 100_000]) assert.equal(seqFromStreamId(streamIdForSeq(seq)), seq);
  });

  it("yields NaN for a stream id that is not numeric", () => {
    assert.ok(Number.isNaN(seqFromStreamId("abc-0")));
    assert.ok(Number.isNaN(seqFromStreamId("")));
  });
});

describe("isTerminal", () => {
  it("is true exactly for succeeded, failed and cancelled", () => {
    assert.equal(isTerminal({ status: "succeeded" }), true);
    assert.equal(isTerminal({ status: "failed" }), true);
    assert.equal(isTerminal({ status: "cancelled" }), true);
    assert.equal(isTerminal({ status: "queued" }), false);
    assert.equal(isTerminal({ status: "running" }), false);
    assert.equal(isTerminal({ status: "waiting" }), false);
    assert.equal(isTerminal(emptySnapshot), false);
  });
});

describe("progressEventSchema", () => {
  it("accepts a well-formed event unchanged", () => {
    assert.deepEqual(progressEventSchema.parse(validEvent), validEvent);
    assert.equal(
      progressEventSchema.safeParse({
        ...validEvent,
        kind: "terminal",
        status: "succeeded",
        percent: 100,
      }).success,
      true,
    );
    assert.equal(progressEventSchema.safeParse({ ...validEvent, percent: 0 }).success, true);
  });

  const rejects = (patch: Record<string, unknown>, path: string) => {
    const r = progressEventSchema.safeParse({ ...validEvent, ...patch });
    assert.equal(r.success, false, `expected ${JSON.stringify(patch)} to be rejected`);
    assert.deepEqual(
      r.error?.issues.map((i) => i.path.join(".")),
      [path],
    );
  };

  it("rejects seq 0, negative and fractional seq", () => {
    rejects({ seq: 0 }, "seq");
    rejects({ seq: -1 }, "seq");
    rejects({ seq: 1.5 }, "seq");
  });

  it("rejects percent outside 0..100", () => {
    rejects({ percent: 101 }, "percent");
    rejects({ percent: -1 }, "percent");
  });

  it("rejects an unknown status and kind", () => {
    rejects({ status: "exploded" }, "status");
    rejects({ kind: "other" }, "kind");
  });

  it("rejects an empty step, an over-long message and a non-ISO timestamp", () => {
    rejects({ step: "" }, "step");
    rejects({ message: "m".repeat(501) }, "message");
    rejects({ at: "yesterday" }, "at");
  });
});

describe("progressSnapshotSchema", () => {
  it("accepts the empty snapshot (seq 0)", () => {
    assert.deepEqual(progressSnapshotSchema.parse(emptySnapshot), emptySnapshot);
  });
});
