/**
 * Who is signed in as an operator: session id → operator name in Valkey, for a working day. The
 * routes also check the account is still enabled (web/adapters/operators.repo.ts), so disabling
 * an operator ends their signed-in sessions at once.
 */
import type { Redis } from "ioredis";
import { operatorNameSchema } from "../../shared/operator.schema.ts";

const OPERATOR_TTL_SECONDS = 8 * 3600;

export function createOperatorSessions(redis: Redis) {
  const key = (sessionId: string) => `operator:${sessionId}`;
  async function operatorOf(sessionId: string): Promise<string | null> {
    // A value that is not a name (an older release stored "1") counts as signed out.
    const parsed = operatorNameSchema.safeParse(await redis.get(key(sessionId)));
    return parsed.success ? parsed.data : null;
  }
  return {
    async grant(sessionId: string, operator: string): Promise<void> {
      await redis.set(key(sessionId), operatorNameSchema.parse(operator), "EX", OPERATOR_TTL_SECONDS);
    },
    async revoke(sessionId: string): Promise<void> {
      await redis.del(key(sessionId));
    },
    /** The name of the operator signed in with this session, or null. */
    operatorOf,
    async isOperator(sessionId: string): Promise<boolean> {
      return (await operatorOf(sessionId)) !== null;
    },
  };
}
export type OperatorSessions = ReturnType<typeof createOperatorSessions>;
