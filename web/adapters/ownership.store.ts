/**
 * Which browser session owns which order, in Valkey so every web replica agrees. An order id is
 * claimed before its workflow is submitted (and released if submission fails), so a second
 * session can never take over an id, and a failed submit leaves nothing behind.
 */
import type { Redis } from "ioredis";
import type { ResourceKind } from "../../shared/progress-event.ts";

export function createOwnershipStore(redis: Redis, ttlSeconds: number) {
  const ownerKey = (kind: ResourceKind, id: string) => `owner:${kind}:${id}`;
  const listKey = (sessionId: string, kind: ResourceKind) => `session:${sessionId}:${kind}`;

  /** True when the id is now (or already was) owned by this session. */
  async function claim(kind: ResourceKind, id: string, sessionId: string): Promise<boolean> {
    const set = await redis.set(ownerKey(kind, id), sessionId, "EX", ttlSeconds, "NX");
    if (set === "OK") {
      await redis.multi().zadd(listKey(sessionId, kind), Date.now(), id).expire(listKey(sessionId, kind), ttlSeconds).exec();
      return true;
    }
    return (await redis.get(ownerKey(kind, id))) === sessionId;
  }

  async function release(kind: ResourceKind, id: string, sessionId: string): Promise<void> {
    if ((await redis.get(ownerKey(kind, id))) !== sessionId) return;
    await redis.multi().del(ownerKey(kind, id)).zrem(listKey(sessionId, kind), id).exec();
  }

  async function owns(kind: ResourceKind, id: string, sessionId: string): Promise<boolean> {
    return (await redis.get(ownerKey(kind, id))) === sessionId;
  }

  async function list(kind: ResourceKind, sessionId: string, limit = 50): Promise<string[]> {
    return redis.zrevrange(listKey(sessionId, kind), 0, limit - 1);
  }

  return { claim, release, owns, list };
}
export type OwnershipStore = ReturnType<typeof createOwnershipStore>;
