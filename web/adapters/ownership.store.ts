/**
 * Which browser session owns which order, in Valkey so every web replica agrees. An order id is
 * claimed before its workflow is submitted (and released if submission fails), so a second
 * session can never take over an id, and a failed submit leaves nothing behind. A session that
 * opened a signed link (web/access-links.ts) is granted the resource: it is listed for that
 * session too, and may see and act on it, while the claim stays with the session that created it.
 */
import type { ResourceKind } from "../../shared/progress-event.ts";
import type { ValkeyClient } from "../../shared/valkey-client.ts";
import { defineScript } from "../../shared/valkey-script.ts";

// Every call touches one key, so any key may live on any cluster shard (docs/design.md, "Valkey
// Cluster"): the owner key (`owner:<kind>:<id>`) guards the id, the session's list
// (`session:<sid>:<kind>`) is what the session may see and act on. A claimed id is always listed
// for its owner, so the list alone answers "may this session see it".

// Claim the id if nobody has, then answer who owns it.
const CLAIM = `
if redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2], 'NX') then return ARGV[1] end
return redis.call('GET', KEYS[1])
`;

// The owner key moves from one session to another (ARGV[2] empty: it is deleted), only if the
// first still holds it. 1 when it moved.
const HAND_OVER = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL') end
return 1
`;

// A session's list, read and removed in one step: what it held at that moment, with scores.
const DRAIN = `
local held = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
redis.call('DEL', KEYS[1])
return held
`;

// Ids listed for a session with their scores (ARGV[2..]: score, id, score, id…), and the list's
// expiry started again (ARGV[1] seconds): one call, not a MULTI, which cost the web a pipeline of
// four commands on every order it placed.
// Added 500 pairs at a time: Lua's unpack has a limit, and a session adopted at sign-in may hold many.
const LIST = `
for i = 2, #ARGV, 1000 do
  redis.call('ZADD', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
return redis.call('EXPIRE', KEYS[1], ARGV[1])
`;

const KINDS: readonly ResourceKind[] = ["order", "content", "campaign"];

/** Pairs of [id, score] from a WITHSCORES reply. */
function pairs(reply: unknown): Array<[string, string]> {
  const flat = Array.isArray(reply) ? reply.map(String) : [];
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}

export function createOwnershipStore(redis: ValkeyClient, ttlSeconds: number) {
  const ownerKey = (kind: ResourceKind, id: string) => `owner:${kind}:${id}`;
  const listKey = (sessionId: string, kind: ResourceKind) => `session:${sessionId}:${kind}`;
  const claimScript = defineScript(redis, "quaysideOwnershipClaim", CLAIM);
  const handOverScript = defineScript(redis, "quaysideOwnershipHandOver", HAND_OVER);
  const drainScript = defineScript(redis, "quaysideOwnershipDrain", DRAIN);
  const listScript = defineScript(redis, "quaysideOwnershipList", LIST);

  const handOver = async (kind: ResourceKind, id: string, from: string, to: string) =>
    (await handOverScript([ownerKey(kind, id)], [from, to])) === 1;

  /** Lists ids (with their scores, newest highest) for a session; the list's expiry starts again. */
  async function addToList(sessionId: string, kind: ResourceKind, entries: ReadonlyArray<readonly [string, number | string]>) {
    if (entries.length === 0) return;
    await listScript([listKey(sessionId, kind)], [ttlSeconds, ...entries.flatMap(([id, score]) => [score, id])]);
  }

  /**
   * True when the id is now (or already was) owned by this session. The owner key is taken first,
   * then the id is listed: if listing fails, the claim is given back and the error goes on.
   */
  async function claim(kind: ResourceKind, id: string, sessionId: string): Promise<boolean> {
    const owner = await claimScript([ownerKey(kind, id)], [sessionId, ttlSeconds]);
    if (owner !== sessionId) return false;
    try {
      await addToList(sessionId, kind, [[id, Date.now()]]);
    } catch (err) {
      await handOver(kind, id, sessionId, "").catch(() => undefined);
      throw err;
    }
    return true;
  }

  async function release(kind: ResourceKind, id: string, sessionId: string): Promise<void> {
    if (!(await handOver(kind, id, sessionId, ""))) return;
    await redis.zrem(listKey(sessionId, kind), id);
  }

  /** True when this session created the resource or was granted it (page, stream and actions alike). */
  async function owns(kind: ResourceKind, id: string, sessionId: string): Promise<boolean> {
    return (await redis.zscore(listKey(sessionId, kind), id)) !== null;
  }

  /** Lists the resource for this session (newest first), as a signed link allows; the claim does not move. */
  async function grant(kind: ResourceKind, id: string, sessionId: string): Promise<void> {
    await addToList(sessionId, kind, [[id, Date.now()]]);
  }

  async function list(kind: ResourceKind, sessionId: string, limit = 50): Promise<string[]> {
    return redis.zrevrange(listKey(sessionId, kind), 0, limit - 1);
  }

  /** Lists the entries for `to` and moves the claims `from` still holds on them. */
  async function adopt(from: string, to: string, kind: ResourceKind, entries: Array<[string, string]>): Promise<void> {
    await addToList(to, kind, entries);
    await Promise.all(entries.map(([id]) => handOver(kind, id, from, to)));
  }

  /**
   * Moves everything one session owns to another (a session id replaced at sign-in). Each step
   * touches one key, so it works on a cluster: the new session is given copies of the old lists
   * and the claims, then each old list is drained in one step; whatever reached it in between
   * (another tab's claim) is moved too, and whatever left it (a released claim) is taken off the
   * new list. A crash before the drain leaves the old session whole; after it, nothing remains to move.
   */
  async function transfer(from: string, to: string): Promise<void> {
    for (const kind of KINDS) {
      const copied = pairs(await redis.zrange(listKey(from, kind), "0", "-1", "WITHSCORES"));
      await adopt(from, to, kind, copied);
      const drained = pairs(await drainScript([listKey(from, kind)], []));
      const copiedIds = new Set(copied.map(([id]) => id));
      const drainedIds = new Set(drained.map(([id]) => id));
      await adopt(
        from,
        to,
        kind,
        drained.filter(([id]) => !copiedIds.has(id)),
      );
      const left = copied.filter(([id]) => !drainedIds.has(id)).map(([id]) => id);
      if (left.length > 0) await redis.zrem(listKey(to, kind), ...left);
    }
  }

  return { claim, release, owns, grant, list, transfer };
}
export type OwnershipStore = ReturnType<typeof createOwnershipStore>;
