/**
 * Who is signed in as an operator: session id → the account as it was at sign-in (name and
 * version) in Valkey, for a working day. A session is an operator's only while that account
 * exists, is enabled and has the same version (web/operators/operators.repo.ts), so `disable`
 * and `reset` end every session signed in before them, at once.
 */
import { z } from "zod";
import { operatorNameSchema } from "../../shared/operator.schema.ts";
import type { ValkeyClient } from "../../shared/valkey-client.ts";
import type { OperatorAccount, OperatorsRepo } from "./operators.repo.ts";

const OPERATOR_TTL_SECONDS = 8 * 3600;

// A value of another shape (an older release stored the bare name, or "1") counts as signed out.
const grantSchema = z.object({ name: operatorNameSchema, version: z.string().regex(/^\d+$/) });

function parseGrant(raw: string | null): OperatorAccount | null {
  if (raw === null) return null;
  try {
    const parsed = grantSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export function createOperatorSessions(redis: ValkeyClient, accounts: Pick<OperatorsRepo, "enabledVersions">) {
  const key = (sessionId: string) => `operator:${sessionId}`;

  /**
   * Of these sessions, those that are an enabled account's at its current version, with its name:
   * one GET per session, sent together (auto-pipelined; on a cluster each to its own shard, where
   * an MGET of several slots would be refused), and one PostgreSQL primary-key query.
   */
  async function signedIn(sessionIds: readonly string[]): Promise<Map<string, string>> {
    if (sessionIds.length === 0) return new Map();
    const grants = (await Promise.all(sessionIds.map((id) => redis.get(key(id))))).map(parseGrant);
    const names = [...new Set(grants.flatMap((g) => (g ? [g.name] : [])))];
    const current = await accounts.enabledVersions(names);
    const result = new Map<string, string>();
    sessionIds.forEach((id, i) => {
      const g = grants[i];
      if (g && current.get(g.name) === g.version) result.set(id, g.name);
    });
    return result;
  }

  return {
    async grant(sessionId: string, account: OperatorAccount): Promise<void> {
      await redis.set(key(sessionId), JSON.stringify(grantSchema.parse(account)), "EX", OPERATOR_TTL_SECONDS);
    },
    async revoke(sessionId: string): Promise<void> {
      await redis.del(key(sessionId));
    },
    /** The name of the enabled operator signed in with this session, or null. */
    async operatorOf(sessionId: string): Promise<string | null> {
      return (await signedIn([sessionId])).get(sessionId) ?? null;
    },
    signedIn,
  };
}
export type OperatorSessions = ReturnType<typeof createOperatorSessions>;
