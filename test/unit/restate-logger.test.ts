import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import type * as restate from "@restatedev/restate-sdk";
import { createLogger } from "../../shared/logger.ts";
import { restateLogger } from "../../worker/restate-logger.ts";

/** The transport over a logger at info, and the lines it wrote. */
function transportAtInfo() {
  const lines: Array<{ level: number; msg: string }> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
      done();
    },
  });
  const transport = restateLogger(createLogger({ name: "t", level: "info", format: "json", destination }));
  const log = (source: string, level: string, message: string, replaying = false) =>
    transport({ source, level, replaying } as unknown as restate.LogMetadata, message);
  return { lines, log };
}

describe("the Restate SDK's log lines", () => {
  it("keep the SDK's per-invocation lines out of an info log, whatever source the SDK gives them", () => {
    const { lines, log } = transportAtInfo();
    // What the SDK writes at the start and end of every invocation (its "JOURNAL" logger).
    log("JOURNAL", "info", "Starting invocation.");
    log("JOURNAL", "info", "Invocation completed successfully.");
    log("SYSTEM", "info", "Replaying invocation.");
    assert.deepEqual(lines, []);
  });

  it("keep the SDK's warnings and a handler's own lines at their level, and say nothing while replaying", () => {
    const { lines, log } = transportAtInfo();
    log("JOURNAL", "warn", "Error when processing the invocation, retrying.");
    log("USER", "info", "email not delivered");
    log("USER", "info", "said on the first run only", true);
    assert.deepEqual(
      lines.map((l) => [l.level, l.msg]),
      [
        [40, "Error when processing the invocation, retrying."],
        [30, "email not delivered"],
      ],
    );
  });
});
