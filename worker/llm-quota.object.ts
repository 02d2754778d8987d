/**
 * LlmQuota (virtual object, key = provider): paces model calls so a burst of jobs waits its turn
 * instead of turning into a storm of 429s. Two token buckets, requests and tokens per minute,
 * each holding at most LLM_BURST_SECONDS of allowance. `reserve` never blocks: it takes the cost
 * now (a bucket may go into debt) and answers when the caller may start, so callers are spaced
 * by the refill rate. Restate runs one `reserve` per provider at a time, so the state is exact.
 *
 * A reservation books an estimate (the prompt and the longest answer allowed); `settle`, sent by
 * the caller once the provider reported its usage, gives back what was booked and not spent, or
 * takes the overrun, so the token bucket follows what was really used, not the worst case.
 * Ingress-private: only ContentGeneration calls it.
 */
import * as restate from "@restatedev/restate-sdk";
import { z } from "zod";
import { asTerminalError } from "./errors.ts";

export interface QuotaLimits {
  requestsPerMinute: number;
  tokensPerMinute: number;
  burstSeconds: number;
}

export interface Bucket {
  requests: number;
  tokens: number;
  at: number;
}

const reserveInput = z.object({ tokens: z.number().int().min(0).max(1_000_000) });
const settleInput = z.object({
  /** What the call reserved. */
  estimated: z.number().int().min(0).max(1_000_000),
  /** What the provider reported: input and output tokens together. */
  used: z.number().int().min(0).max(10_000_000),
});

const capacities = (limits: QuotaLimits) => {
  const reqRate = limits.requestsPerMinute / 60_000; // per millisecond
  const tokRate = limits.tokensPerMinute / 60_000;
  return {
    reqRate,
    tokRate,
    reqCap: Math.max(1, reqRate * limits.burstSeconds * 1000),
    tokCap: Math.max(1, tokRate * limits.burstSeconds * 1000),
  };
};

/** Takes one request and `tokens` from the buckets at `now`; `notBefore` is when the caller may go. */
export function reserveFromBucket(
  bucket: Bucket | null,
  limits: QuotaLimits,
  now: number,
  tokens: number,
): { bucket: Bucket; notBefore: number } {
  const { reqRate, tokRate, reqCap, tokCap } = capacities(limits);
  const start = bucket ?? { requests: reqCap, tokens: tokCap, at: now };
  const elapsed = Math.max(0, now - start.at);
  const requests = Math.min(reqCap, start.requests + elapsed * reqRate) - 1;
  const tokensLeft = Math.min(tokCap, start.tokens + elapsed * tokRate) - tokens;
  const wait = Math.max(0, -requests / reqRate, -tokensLeft / tokRate);
  return { bucket: { requests, tokens: tokensLeft, at: now }, notBefore: now + Math.ceil(wait) };
}

/**
 * Corrects a reservation at `now` with the tokens really used: the bucket is refilled to `now`,
 * then credited `estimated - used` (a debit when the call used more), never above the allowance.
 * Requests are not touched: a call is one request whatever it cost.
 */
export function settleBucket(
  bucket: Bucket | null,
  limits: QuotaLimits,
  now: number,
  usage: { estimated: number; used: number },
): Bucket {
  const { reqRate, tokRate, reqCap, tokCap } = capacities(limits);
  if (!bucket) return { requests: reqCap, tokens: Math.min(tokCap, tokCap + usage.estimated - usage.used), at: now };
  const elapsed = Math.max(0, now - bucket.at);
  return {
    requests: Math.min(reqCap, bucket.requests + elapsed * reqRate),
    tokens: Math.min(tokCap, Math.min(tokCap, bucket.tokens + elapsed * tokRate) + usage.estimated - usage.used),
    at: Math.max(now, bucket.at),
  };
}

export function createLlmQuotaObject(deps: { limits: QuotaLimits }) {
  return restate.object({
    name: "LlmQuota",
    handlers: {
      reserve: restate.handlers.object.exclusive(
        { input: restate.serde.schema(reserveInput) },
        async (ctx: restate.ObjectContext, req): Promise<{ notBefore: number }> => {
          const now = await ctx.date.now();
          const r = reserveFromBucket((await ctx.get<Bucket>("bucket")) ?? null, deps.limits, now, req.tokens);
          ctx.set("bucket", r.bucket);
          return { notBefore: r.notBefore };
        },
      ),

      /** Replaces a reservation's estimate with the usage the provider reported. */
      settle: restate.handlers.object.exclusive(
        { input: restate.serde.schema(settleInput) },
        async (ctx: restate.ObjectContext, req): Promise<void> => {
          const now = await ctx.date.now();
          ctx.set("bucket", settleBucket((await ctx.get<Bucket>("bucket")) ?? null, deps.limits, now, req));
        },
      ),
    },
    options: { asTerminalError, ingressPrivate: true },
  });
}

export type LlmQuota = ReturnType<typeof createLlmQuotaObject>;
export const llmQuotaApi: LlmQuota = { name: "LlmQuota" };
