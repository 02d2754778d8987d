/**
 * Fixed-window rate limits in Valkey, shared by every web replica: all of a request's counters sent
 * together, each counter in a transaction of its own (one key each, so on a cluster every counter
 * goes to its own shard and none waits for another). If Valkey cannot answer, the request is
 * allowed: a limiter outage must not take the shop down with it.
 */
import type { ValkeyClient } from "../../shared/valkey-client.ts";

export interface RateDecision {
  allowed: boolean;
  retryAfterSeconds: number;
}

export function createRateLimiter(redis: ValkeyClient) {
  /** Counts one hit against each [key, limit]; refused if any of them is over its limit. */
  async function hitAll(limits: ReadonlyArray<readonly [string, number]>, windowSeconds: number): Promise<RateDecision> {
    const window = Math.floor(Date.now() / (windowSeconds * 1000));
    const count = async (key: string) => {
      const bucket = `ratelimit:${key}:${window}`;
      const replies = await redis
        .multi()
        .incr(bucket)
        .expire(bucket, windowSeconds + 1)
        .exec();
      const [err, hits] = replies?.[0] ?? [new Error("the counter's transaction was discarded"), 0];
      if (err) throw err;
      return Number(hits);
    };
    try {
      const counts = await Promise.all(limits.map(([key]) => count(key)));
      const allowed = limits.every(([, limit], i) => (counts[i] ?? 0) <= limit);
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
