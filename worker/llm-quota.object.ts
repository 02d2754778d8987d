/**
 * LlmQuota (virtual object, key = provider): paces model calls so a burst of jobs waits its turn
 * instead of turning into a storm of 429s. Two token buckets, requests and tokens per minute,
 * each holding at most LLM_BURST_SECONDS of allowance. `reserve` never blocks: it takes the cost
 * now (a bucket may go into debt) and answers when the caller may start, so callers are spaced
 * by the refill rate. Restate runs one `reserve` per provider at a time, so the state is exact.
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

/** Takes one request and `tokens` from the buckets at `now`; `notBefore` is when the caller may go. */
export function reserveFromBucket(
  bucket: Bucket | null,
  limits: QuotaLimits,
  now: number,
  tokens: number,
): { bucket: Bucket; notBefore: number } {
  const reqRate = limits.requestsPerMinute / 60_000; // per millisecond
  const tokRate = limits.tokensPerMinute / 60_000;
  const reqCap = Math.max(1, reqRate * limits.burstSeconds * 1000);
  const tokCap = Math.max(1, tokRate * limits.burstSeconds * 1000);
  const start = bucket ?? { requests: reqCap, tokens: tokCap, at: now };
  const elapsed = Math.max(0, now - start.at);
  const requests = Math.min(reqCap, start.requests + elapsed * reqRate) - 1;
  const tokensLeft = Math.min(tokCap, start.tokens + elapsed * tokRate) - tokens;
  const wait = Math.max(0, -requests / reqRate, -tokensLeft / tokRate);
  return { bucket: { requests, tokens: tokensLeft, at: now }, notBefore: now + Math.ceil(wait) };
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
    },
    options: { asTerminalError },
  });
}

export type LlmQuota = ReturnType<typeof createLlmQuotaObject>;
export const llmQuotaApi: LlmQuota = { name: "LlmQuota" };
