/**
 * Which browser session owns which order, in Valkey so every web replica agrees. An order id is
 * claimed before its workflow is submitted (and released if submission fails), so a second
 * session can never take over an id, and a failed submit leaves nothing behind. A session that
 * opened a signed link (web/access-links.ts) is granted the resource: it is listed for that
 * session too, and may see and act on it, while the claim stays with the session that created it.
 */
import type { Redis } from "ioredis";
import type { ResourceKind } from "../../shared/progress-event.ts";

// Claim the id if nobody has (and list it for the session), then answer who owns it.
const CLAIM = `
if redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2], 'NX') then
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
  redis.call('EXPIRE', KEYS[2], ARGV[2])
  return ARGV[1]
end
return redis.call('GET', KEYS[1])
`;

// Owned (claimed) by this session, or granted to it through a signed link.
const HAS_ACCESS = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return 1 end
if redis.call('ZSCORE', KEYS[2], ARGV[2]) then return 1 end
return 0
`;

// For each kind: every id listed for the old session gets the new owner, then the list moves.
const TRANSFER = `
for i = 1, #KEYS, 2 do
  local kind = ARGV[3 + (i + 1) / 2]
  for _, id in ipairs(redis.call('ZRANGE', KEYS[i], 0, -1)) do
    local owner = 'owner:' .. kind .. ':' .. id
    if redis.call('GET', owner) == ARGV[1] then redis.call('SET', owner, ARGV[2], 'KEEPTTL') end
  end
  if redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('RENAME', KEYS[i], KEYS[i + 1])
    redis.call('EXPIRE', KEYS[i + 1], ARGV[3])
  end
end
return 1
`;

export function createOwnershipStore(redis: Redis, ttlSeconds: number) {
  const ownerKey = (kind: ResourceKind, id: string) => `owner:${kind}:${id}`;
  const listKey = (sessionId: string, kind: ResourceKind) => `session:${sessionId}:${kind}`;

  /** True when the id is now (or already was) owned by this session. One round trip. */
  async function claim(kind: ResourceKind, id: string, sessionId: string): Promise<boolean> {
    const owner = await redis.eval(
      CLAIM,
      2,
      ownerKey(kind, id),
      listKey(sessionId, kind),
      sessionId,
      String(ttlSeconds),
      id,
      String(Date.now()),
    );
    return owner === sessionId;
  }

  async function release(kind: ResourceKind, id: string, sessionId: string): Promise<void> {
    if ((await redis.get(ownerKey(kind, id))) !== sessionId) return;
    await redis.multi().del(ownerKey(kind, id)).zrem(listKey(sessionId, kind), id).exec();
  }

  /** True when this session created the resource or was granted it (page, stream and actions alike). */
  async function owns(kind: ResourceKind, id: string, sessionId: string): Promise<boolean> {
    return (await redis.eval(HAS_ACCESS, 2, ownerKey(kind, id), listKey(sessionId, kind), sessionId, id)) === 1;
  }

  /** Lists the resource for this session (newest first), as a signed link allows; the claim does not move. */
  async function grant(kind: ResourceKind, id: string, sessionId: string): Promise<void> {
    const list = listKey(sessionId, kind);
    await redis.multi().zadd(list, Date.now(), id).expire(list, ttlSeconds).exec();
  }

  async function list(kind: ResourceKind, sessionId: string, limit = 50): Promise<string[]> {
    return redis.zrevrange(listKey(sessionId, kind), 0, limit - 1);
  }

  /** Moves everything one session owns to another (a session id replaced at sign-in). */
  async function transfer(from: string, to: string): Promise<void> {
    const kinds: ResourceKind[] = ["order", "content", "campaign"];
    await redis.eval(
      TRANSFER,
      kinds.length * 2,
      ...kinds.flatMap((k) => [listKey(from, k), listKey(to, k)]),
      from,
      to,
      String(ttlSeconds),
      ...kinds,
    );
  }

  return { claim, release, owns, grant, list, transfer };
}
export type OwnershipStore = ReturnType<typeof createOwnershipStore>;
