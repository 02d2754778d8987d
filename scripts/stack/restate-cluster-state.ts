/**
 * What a Restate cluster says about itself, asked through restatectl: its introspection tables
 * (`nodes`, `partition_state`: what `restatectl status` and `restatectl partitions list` print),
 * who leads which partition, what one node serves, and moving one partition's leadership.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { waitFor } from "./processes.ts";

/** A node as these queries need it: its name, and whether the harness has it running. */
export interface NamedNode {
  nodeName: string;
  alive: boolean;
}

/** What one node does for the partitions, as the cluster reports it. */
export interface PartitionsServed {
  leads: number[];
  follows: number[];
}

export interface Leader<N extends NamedNode> {
  node: N;
  epoch: number;
}

export interface ClusterState<N extends NamedNode> {
  /** A query over the cluster's introspection tables (`nodes`, `partition_state`, `logs`, …). */
  sql<T = Record<string, unknown>>(query: string): Promise<T[]>;
  /**
   * The live node leading each partition, with its leader epoch (partitions without a live leader
   * are absent). Reports travel by gossip and may lag: while leadership moves, two nodes can both
   * claim a partition for a moment, and the higher epoch is the newer leader.
   */
  partitionLeaders(): Promise<Map<number, Leader<N>>>;
  /**
   * Waits until live nodes lead every partition, no leadership has changed over three reads (about
   * a second), and `until` (if given) holds for that view.
   */
  waitSettled(opts?: {
    timeoutMs?: number;
    until?: (leaders: Map<number, Leader<N>>) => boolean;
  }): Promise<Map<number, Leader<N>>>;
  /** The partitions whose processors run on this node's current process and have caught up with the log. */
  partitionsServed(node: N): Promise<PartitionsServed>;
  /**
   * Asks for a node to lead a partition it runs, or to keep leading it (`restatectl partitions
   * leadership pin`), and waits until it leads it. The pin is a preference: if the node dies,
   * another one takes over.
   */
  pinLeader(node: N, partition: number, opts?: { timeoutMs?: number }): Promise<void>;
  /** Clears that preference (`restatectl partitions leadership unpin`). */
  unpinLeader(partition: number): Promise<void>;
}

export function clusterState<N extends NamedNode>(deps: {
  restatectl(args: string[]): Promise<string>;
  nodes: N[];
  partitions: number;
}): ClusterState<N> {
  const sql = async <T>(query: string): Promise<T[]> => {
    const out = (await deps.restatectl(["sql", "--json", query])).trim();
    // restatectl prints the JSON array, then (sometimes on the same stream) a "N rows" summary.
    const end = out.lastIndexOf("]");
    return JSON.parse(end >= 0 ? out.slice(0, end + 1) : "[]") as T[];
  };
  const byName = (name: string) => deps.nodes.find((n) => n.alive && n.nodeName === name);

  const partitionLeaders = async () => {
    const rows = await sql<{ partition_id: number; leader_epoch: number; node_name: string; state: string }>(
      "SELECT p.partition_id, p.leader_epoch, n.name AS node_name, n.state FROM partition_state p " +
        "JOIN nodes n ON p.gen_node_id = n.gen_node_id " +
        "WHERE p.effective_mode = 'Leader' AND p.replay_status = 'active'",
    );
    const leaders = new Map<number, Leader<N>>();
    for (const r of rows) {
      // The table keeps the last report of a dead node for a while: only live nodes count.
      const node = byName(r.node_name);
      const partition = Number(r.partition_id);
      const epoch = Number(r.leader_epoch);
      if (node && r.state === "alive" && epoch > (leaders.get(partition)?.epoch ?? -1)) leaders.set(partition, { node, epoch });
    }
    return leaders;
  };

  const waitSettled = async (o: { timeoutMs?: number; until?: (leaders: Map<number, Leader<N>>) => boolean } = {}) => {
    let last = "";
    let leaders = new Map<number, Leader<N>>();
    let unchanged = 0;
    await waitFor(
      "every partition led, and leadership settled",
      async () => {
        leaders = await partitionLeaders();
        const view = [...leaders]
          .map(([p, l]) => `${p}:${l.node.nodeName}:${l.epoch}`)
          .sort()
          .join(" ");
        const wanted = leaders.size === deps.partitions && (o.until?.(leaders) ?? true);
        unchanged = wanted && view === last ? unchanged + 1 : 0;
        last = view;
        return unchanged >= 2;
      },
      { timeoutMs: o.timeoutMs ?? 30_000, intervalMs: 400 },
    );
    return leaders;
  };

  const partitionsServed = async (node: N): Promise<PartitionsServed> => {
    // Rows of the node's current process only (its generation), alive now, and caught up
    // (`active`, not `starting` or `catchingup`).
    const rows = await sql<{ partition_id: number; effective_mode: string }>(
      "SELECT p.partition_id, p.effective_mode FROM partition_state p " +
        "JOIN nodes n ON p.gen_node_id = n.gen_node_id " +
        `WHERE n.name = '${node.nodeName.replace(/\W/g, "")}' AND n.state = 'alive' AND p.replay_status = 'active'`,
    );
    const ids = (mode: string) =>
      rows
        .filter((r) => r.effective_mode === mode)
        .map((r) => Number(r.partition_id))
        .sort((a, b) => a - b);
    return { leads: ids("Leader"), follows: ids("Follower") };
  };

  /**
   * Changes to the partition table (a leadership pin) can be refused as unavailable for a few
   * seconds right after a node died: the request is still forwarded to the dead node.
   */
  const metadataChange = async (args: string[]) => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await deps.restatectl(args);
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await sleep(250);
      }
    }
  };

  const pinLeader = async (node: N, partition: number, o: { timeoutMs?: number } = {}) => {
    const [row] = await sql<{ plain_node_id: string }>(
      `SELECT plain_node_id FROM nodes WHERE name = '${node.nodeName.replace(/\W/g, "")}'`,
    );
    const id = /^N(\d+)$/.exec(row?.plain_node_id ?? "")?.[1];
    if (!id) throw new Error(`no node id for ${node.nodeName}`);
    await metadataChange(["partitions", "leadership", "pin", "--node", id, String(partition)]);
    await waitFor(
      `${node.nodeName} leading partition ${partition}`,
      async () => (await partitionLeaders()).get(partition)?.node === node,
      { timeoutMs: o.timeoutMs ?? 15_000, intervalMs: 200 },
    );
  };

  const unpinLeader = async (partition: number) => {
    await metadataChange(["partitions", "leadership", "unpin", String(partition)]);
  };

  return { sql, partitionLeaders, waitSettled, partitionsServed, pinLeader, unpinLeader };
}
