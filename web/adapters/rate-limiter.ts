/**
 * Fixed-window rate limits in Valkey, shared by every web replica: all of a request's counters sent
 * together, each counter one script call of its own (one key each, so on a cluster every counter
 * goes to its own shard and none waits for another). If Valkey cannot answer, the request is
 * allowed: a limiter outage must not take the shop down with it.
 */
import type { ValkeyClient } from "../../shared/valkey-client.ts";
import { defineScript } from "../../shared/valkey-script.ts";

/**
 * One hit on a window's counter, and the window's expiry set by the hit that opened it: one
 * command where a MULTI/INCR/EXPIRE/EXEC transaction was four (the web's profile had those writes
 * as its largest Valkey cost per order). KEYS[1] the counter, ARGV[1] its lifetime in seconds.
 */
const HIT = `
local hits = redis.call('INCR', KEYS[1])
if hits == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return hits`;

export interface RateDecision {
  allowed: boolean;
  retryAfterSeconds: number;
}

export function createRateLimiter(redis: ValkeyClient) {
  const hitScript = defineScript(redis, "quaysideRateLimitHit", HIT);
  /** Counts one hit against each [key, limit]; refused if any of them is over its limit. */
  async function hitAll(limits: ReadonlyArray<readonly [string, number]>, windowSeconds: number): Promise<RateDecision> {
    const window = Math.floor(Date.now() / (windowSeconds * 1000));
    const count = async (key: string) => {
      const hits = await hitScript([`ratelimit:${key}:${window}`], [windowSeconds + 1]);
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
