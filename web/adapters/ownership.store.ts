/**
 * Which browser session owns which order, in Valkey so every web replica agrees. An order id is
 * claimed before its workflow is submitted (and released if submission fails), so a second
 * session can never take over an id, and a failed submit leaves nothing behind. A session that
 * opened a signed link (web/access-links.ts) is granted the resource: it is listed for that
 * session too, and may see and act on it, while the claim stays with the session that created it.
 */
import type { Redis } from "ioredis";
import type { ResourceKind } from "../../shared/progress-event.ts";
import { defineScript } from "../../shared/valkey-script.ts";

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

// KEYS: per kind, the old session's list and the new one's; then the owner key of every id listed,
// kind by kind, in list order. ARGV: old session, new session, ttl, how many kinds, each kind's
// count, then the ids. The caller read the lists first: if one changed since, nothing is done
// and 0 tells it to read them again. Every key is declared, none is built here.
const TRANSFER = `
local kinds = tonumber(ARGV[4])
local ids = 4 + kinds
for k = 1, kinds do
  local n = tonumber(ARGV[4 + k])
  if redis.call('ZCARD', KEYS[2 * k - 1]) ~= n then return 0 end
  for j = 1, n do
    if not redis.call('ZSCORE', KEYS[2 * k - 1], ARGV[ids + j]) then return 0 end
  end
  ids = ids + n
end
for i = 2 * kinds + 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then redis.call('SET', KEYS[i], ARGV[2], 'KEEPTTL') end
end
for k = 1, kinds do
  if redis.call('EXISTS', KEYS[2 * k - 1]) == 1 then
    redis.call('RENAME', KEYS[2 * k - 1], KEYS[2 * k])
    redis.call('EXPIRE', KEYS[2 * k], ARGV[3])
  end
end
return 1
`;

const TRANSFER_ATTEMPTS = 5;

export function createOwnershipStore(redis: Redis, ttlSeconds: number) {
  const ownerKey = (kind: ResourceKind, id: string) => `owner:${kind}:${id}`;
  const listKey = (sessionId: string, kind: ResourceKind) => `session:${sessionId}:${kind}`;
  const claimScript = defineScript(redis, "quaysideOwnershipClaim", CLAIM);
  const hasAccessScript = defineScript(redis, "quaysideOwnershipHasAccess", HAS_ACCESS);
  const transferScript = defineScript(redis, "quaysideOwnershipTransfer", TRANSFER);

  /** True when the id is now (or already was) owned by this session. One round trip. */
  async function claim(kind: ResourceKind, id: string, sessionId: string): Promise<boolean> {
    const owner = await claimScript([ownerKey(kind, id), listKey(sessionId, kind)], [sessionId, ttlSeconds, id, Date.now()]);
    return owner === sessionId;
  }

  async function release(kind: ResourceKind, id: string, sessionId: string): Promise<void> {
    if ((await redis.get(ownerKey(kind, id))) !== sessionId) return;
    await redis.multi().del(ownerKey(kind, id)).zrem(listKey(sessionId, kind), id).exec();
  }

  /** True when this session created the resource or was granted it (page, stream and actions alike). */
  async function owns(kind: ResourceKind, id: string, sessionId: string): Promise<boolean> {
    return (await hasAccessScript([ownerKey(kind, id), listKey(sessionId, kind)], [sessionId, id])) === 1;
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
    for (let attempt = 1; attempt <= TRANSFER_ATTEMPTS; attempt++) {
      const ids = await Promise.all(kinds.map((k) => redis.zrange(listKey(from, k), "0", "-1")));
      const keys = [
        ...kinds.flatMap((k) => [listKey(from, k), listKey(to, k)]),
        ...kinds.flatMap((k, i) => (ids[i] ?? []).map((id) => ownerKey(k, id))),
      ];
      const args = [from, to, ttlSeconds, kinds.length, ...ids.map((l) => l.length), ...ids.flat()];
      if ((await transferScript(keys, args)) === 1) return;
    }
    throw new Error(`the session's resources kept changing during ${TRANSFER_ATTEMPTS} transfer attempts`);
  }

  return { claim, release, owns, grant, list, transfer };
}
export type OwnershipStore = ReturnType<typeof createOwnershipStore>;
