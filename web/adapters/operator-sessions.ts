/**
 * Operator sign-in: the password is compared in constant time (both sides hashed first, so their
 * lengths match), and a signed-in session is remembered in Valkey for a working day.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Redis } from "ioredis";

const OPERATOR_TTL_SECONDS = 8 * 3600;

export function passwordMatches(candidate: string, expected: string): boolean {
  const a = createHash("sha256").update(candidate).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

export function createOperatorSessions(redis: Redis) {
  const key = (sessionId: string) => `operator:${sessionId}`;
  return {
    async grant(sessionId: string): Promise<void> {
      await redis.set(key(sessionId), "1", "EX", OPERATOR_TTL_SECONDS);
    },
    async revoke(sessionId: string): Promise<void> {
      await redis.del(key(sessionId));
    },
    async isOperator(sessionId: string): Promise<boolean> {
      return (await redis.exists(key(sessionId))) === 1;
    },
  };
}
export type OperatorSessions = ReturnType<typeof createOperatorSessions>;
