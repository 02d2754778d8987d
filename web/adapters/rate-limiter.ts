/**
 * Fixed-window rate limits in Valkey, shared by every web replica: all of a request's counters in
 * one round trip. If Valkey cannot answer, the request is allowed: a limiter outage must not take
 * the shop down with it.
 */
import type { Redis } from "ioredis";

export interface RateDecision {
  allowed: boolean;
  retryAfterSeconds: number;
}

export function createRateLimiter(redis: Redis) {
  /** Counts one hit against each [key, limit]; refused if any of them is over its limit. */
  async function hitAll(limits: ReadonlyArray<readonly [string, number]>, windowSeconds: number): Promise<RateDecision> {
    const window = Math.floor(Date.now() / (windowSeconds * 1000));
    const tx = redis.multi();
    for (const [key] of limits) {
      const bucket = `ratelimit:${key}:${window}`;
      tx.incr(bucket).expire(bucket, windowSeconds + 1);
    }
    try {
      const replies = (await tx.exec()) ?? [];
      const allowed = limits.every(([, limit], i) => Number(replies[i * 2]?.[1] ?? 0) <= limit);
      const elapsed = Math.floor(Date.now() / 1000) % windowSeconds;
      return { allowed, retryAfterSeconds: Math.max(1, windowSeconds - elapsed) };
    } catch {
      return { allowed: true, retryAfterSeconds: 0 };
    }
  }

  async function hit(key: string, limit: number, windowSeconds: number): Promise<RateDecision> {
    return hitAll([[key, limit]], windowSeconds);
  }

  return { hit, hitAll };
}
export type RateLimiter = ReturnType<typeof createRateLimiter>;
