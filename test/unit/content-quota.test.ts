/** LlmQuota's token buckets: bursts up to the allowance, then callers spaced by the refill rate. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { reserveFromBucket, settleBucket, type Bucket } from "../../worker/llm-quota.object.ts";
import { estimateCostCents, priceFor } from "../../worker/adapters/llm-prices.ts";

describe("LlmQuota buckets", () => {
  const limits = { requestsPerMinute: 60, tokensPerMinute: 60_000, burstSeconds: 2 };

  function burst(n: number, tokens: number, l = limits, now = 1_000_000) {
    let bucket: Bucket | null = null;
    const slots: number[] = [];
    for (let i = 0; i < n; i++) {
      const r = reserveFromBucket(bucket, l, now, tokens);
      bucket = r.bucket;
      slots.push(r.notBefore - now);
    }
    return slots;
  }

  it("lets a burst of up to the saved allowance go at once, then spaces the rest by the request rate", () => {
    assert.deepEqual(burst(5, 10), [0, 0, 1000, 2000, 3000]);
  });

  it("paces by tokens when calls are large", () => {
    // 1,000 tokens a second, 2,000 saved: each 1,500-token call after the first needs 1.5 s of refill.
    assert.deepEqual(burst(3, 1500), [0, 1000, 2500]);
  });

  it("refills with time, never beyond the allowance", () => {
    const first = reserveFromBucket(null, limits, 0, 10);
    const later = reserveFromBucket(first.bucket, limits, 60_000, 10);
    assert.equal(later.notBefore, 60_000);
    assert.ok(later.bucket.requests <= 2 - 1);
  });
});

describe("LlmQuota settling with the reported usage", () => {
  const limits = { requestsPerMinute: 60, tokensPerMinute: 60_000, burstSeconds: 2 };

  it("gives back what a call reserved and did not use, so the next large call need not wait", () => {
    const first = reserveFromBucket(null, limits, 0, 1500);
    const unsettled = reserveFromBucket(first.bucket, limits, 0, 1500);
    assert.equal(unsettled.notBefore, 1000, "booked at the estimate, the second call waits 1 s of refill");
    const settled = settleBucket(first.bucket, limits, 0, { estimated: 1500, used: 300 });
    assert.equal(settled.tokens, 1700);
    assert.equal(reserveFromBucket(settled, limits, 0, 1500).notBefore, 0, "booked at the usage, it goes at once");
  });

  it("takes an overrun, so callers after it wait for what was really spent", () => {
    const first = reserveFromBucket(null, limits, 0, 500);
    const settled = settleBucket(first.bucket, limits, 0, { estimated: 500, used: 3500 });
    assert.equal(settled.tokens, -1500);
    assert.equal(reserveFromBucket(settled, limits, 0, 10).notBefore, 1510);
  });

  it("refills to the settle time first and never credits beyond the allowance; requests are untouched", () => {
    const first = reserveFromBucket(null, limits, 0, 1000);
    const settled = settleBucket(first.bucket, limits, 10_000, { estimated: 1000, used: 0 });
    assert.equal(settled.tokens, 2000);
    assert.equal(settled.at, 10_000);
    assert.equal(settled.requests, 2, "refilled to the cap, no request given back");
    assert.equal(settleBucket(null, limits, 0, { estimated: 100, used: 40 }).tokens, 2000);
  });
});

describe("cost estimate", () => {
  it("uses the table, dated snapshots of a known model, and overrides", () => {
    assert.deepEqual(priceFor("gpt-4.1-mini-2025-04-14"), priceFor("gpt-4.1-mini"));
    assert.equal(priceFor("llama3.2").inputCentsPer1k, 0);
    assert.equal(priceFor("llama3.2", { inputCentsPer1k: 0.5 }).inputCentsPer1k, 0.5);
    assert.equal(
      estimateCostCents({ inputCentsPer1k: 0.04, outputCentsPer1k: 0.16 }, { inputTokens: 1000, outputTokens: 500 }),
      0.12,
    );
  });
});
