/**
 * Fixed-window rate limits in Valkey, shared by every web replica. If Valkey cannot answer, the
 * request is allowed: a limiter outage must not take the shop down with it.
 */
import type { Redis } from "ioredis";

export interface RateDecision {
  allowed: boolean;
  retryAfterSeconds: number;
}

export function createRateLimiter(redis: Redis) {
  async function hit(key: string, limit: number, windowSeconds: number): Promise<RateDecision> {
    const bucket = `ratelimit:${key}:${Math.floor(Date.now() / (windowSeconds * 1000))}`;
    try {
      const [[, count]] = (await redis
        .multi()
        .incr(bucket)
        .expire(bucket, windowSeconds + 1)
        .exec()) as [[unknown, number]];
      const elapsed = Math.floor(Date.now() / 1000) % windowSeconds;
      return { allowed: count <= limit, retryAfterSeconds: Math.max(1, windowSeconds - elapsed) };
    } catch {
      return { allowed: true, retryAfterSeconds: 0 };
    }
  }
  return { hit };
}
export type RateLimiter = ReturnType<typeof createRateLimiter>;
