/**
 * One Restate node's crash and return, for tests that prove any node may die. The node is held to
 * lead at least one partition (a leadership pin, so the crash always takes a leader away) and is
 * SIGKILLed once leadership has settled; its partitions are then watched until other nodes lead
 * them at newer epochs. Later it is started again on its own data and watched until it serves
 * partitions again.
 */
import { waitFor } from "./processes.ts";
import type { ClusterNode, PartitionsServed, RestateCluster } from "./restate-cluster.ts";

export interface NodeCrash {
  node: ClusterNode;
  /** What the node did for the partitions just before the kill. */
  servedBefore: PartitionsServed;
  killedAt: number;
  /** The partitions it led at the kill, each with its leader epoch then. */
  ledAtKill: Map<number, number>;
  /** The partition whose leadership it was held to. */
  pinned: number;
}

/** Among `candidates`, the live node leading the most partitions right now. */
export async function mostLeading(cluster: RestateCluster, candidates: ClusterNode[]): Promise<ClusterNode> {
  const leaders = await cluster.partitionLeaders();
  const led = (n: ClusterNode) => [...leaders.values()].filter((l) => l.node === n).length;
  const live = candidates.filter((n) => n.alive);
  if (live.length === 0) throw new Error("no live node to choose from");
  return live.reduce((a, b) => (led(b) > led(a) ? b : a));
}

/**
 * Holds `node` to a partition's leadership, waits for leadership to settle, and SIGKILLs it.
 * `beforeKill` runs just before the kill (to wait for work in flight, say).
 */
export async function crashLeader(
  cluster: RestateCluster,
  node: ClusterNode,
  opts: { beforeKill?: () => Promise<void> } = {},
): Promise<NodeCrash> {
  // Leadership also moves by itself (the scheduler spreads it again after a node is back): keep one
  // partition the node leads, or give it one it follows. The pin is a preference, so a successor is
  // still elected when the node is gone. The scheduler acts on it a moment later, and reports of
  // who leads travel by gossip: choose from a settled view, and kill only once a settled view has
  // the node leading that partition.
  // A pin is not always honoured at once: the partition may have just moved (the scheduler
  // spreading leadership after an earlier node came back), or its replica on the node may still
  // be catching up. Then the choice is made again from a fresh settled view, a few times.
  let pinned: number | undefined;
  let leaders: Awaited<ReturnType<RestateCluster["waitSettled"]>> | undefined;
  for (let attempt = 1; leaders === undefined; attempt++) {
    const before = await cluster.waitSettled();
    const leading = [...before].find(([, l]) => l.node === node)?.[0];
    const choice = leading ?? (await cluster.partitionsServed(node)).follows[0];
    if (choice === undefined) throw new Error(`${node.nodeName} runs no partition processor`);
    pinned = choice;
    try {
      await cluster.pinLeader(node, choice);
      leaders = await cluster.waitSettled({ until: (view) => view.get(choice)?.node === node });
    } catch (err) {
      await cluster.unpinLeader(choice);
      if (attempt >= 3) throw err;
    }
  }
  if (pinned === undefined) throw new Error(`${node.nodeName}: no partition to hold it to`);
  const ledAtKill = new Map([...leaders].flatMap(([p, l]) => (l.node === node ? [[p, l.epoch] as const] : [])));
  const servedBefore = {
    leads: [...ledAtKill.keys()].sort((a, b) => a - b),
    follows: (await cluster.partitionsServed(node)).follows,
  };
  await opts.beforeKill?.();
  const killedAt = Date.now();
  await cluster.killNode(node);
  return { node, servedBefore, killedAt, ledAtKill, pinned };
}

/**
 * Waits until other live nodes lead, at newer epochs, every partition the crashed node led, then
 * clears the pin and waits for the cluster to be healthy. Resolves with the ms from the kill until
 * those new leaders were seen.
 */
export async function waitTakenOver(
  cluster: RestateCluster,
  crash: NodeCrash,
  opts: { timeoutMs?: number } = {},
): Promise<number> {
  await waitFor(
    `new leaders for the partitions ${crash.node.nodeName} led`,
    async () => {
      const now = await cluster.partitionLeaders();
      return [...crash.ledAtKill].every(([p, epoch]) => (now.get(p)?.epoch ?? -1) > epoch && now.get(p)?.node !== crash.node);
    },
    { timeoutMs: opts.timeoutMs ?? 60_000, intervalMs: 100 },
  );
  const failoverMs = Date.now() - crash.killedAt;
  await cluster.unpinLeader(crash.pinned);
  await cluster.waitHealthy({ timeoutMs: opts.timeoutMs ?? 60_000 });
  return failoverMs;
}

/** Starts a crashed node again and waits until it serves partitions; resolves with how long that took. */
export async function restartAndRejoin(
  cluster: RestateCluster,
  node: ClusterNode,
  opts: { timeoutMs?: number } = {},
): Promise<{ rejoinMs: number; servedAfter: PartitionsServed }> {
  const restartedAt = Date.now();
  await cluster.restartNode(node);
  const servedAfter = await cluster.waitServing(node, { timeoutMs: opts.timeoutMs ?? 60_000 });
  return { rejoinMs: Date.now() - restartedAt, servedAfter };
}
