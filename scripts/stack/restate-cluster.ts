/**
 * A multi-node Restate cluster on loopback, for tests: N restate-server processes (every role on
 * every node: metadata server, admin, worker, log server, ingress) that find each other through
 * the replicated metadata server, provisioned once with restatectl (auto-provision is off, so no
 * node can form a cluster of its own), with replicated logs and partitions. Any node can be
 * SIGKILLed; `waitHealthy` then waits for the survivors to lead every partition again.
 */
import { execFile } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { freePort, httpOk, startProcess, tcpOpen, waitFor, type Managed } from "./processes.ts";
import { restateBinary, restateNodeEnv, restateServerBin, type RestatePorts } from "./restate.ts";

const run = promisify(execFile);

/** Node-to-node port (message fabric, metadata, log server; what restatectl talks to), admin, ingress. */
export type ClusterNodePorts = RestatePorts;

export interface ClusterNode extends Managed {
  /** 1-based position in the cluster, and the node name `n<index>`. */
  index: number;
  nodeName: string;
  ports: ClusterNodePorts;
  nodeUrl: string;
  adminUrl: string;
  ingressUrl: string;
  logFile: string;
  /** False once the node was killed or stopped through the cluster handle. */
  alive: boolean;
}

export interface RestateCluster {
  clusterName: string;
  partitions: number;
  nodes: ClusterNode[];
  liveNodes(): ClusterNode[];
  /** Runs restatectl against the live nodes; resolves with its stdout. */
  restatectl(args: string[], opts?: { timeoutMs?: number }): Promise<string>;
  /** A query over the cluster's introspection tables (`nodes`, `partition_state`, `logs`, …). */
  sql<T = Record<string, unknown>>(query: string): Promise<T[]>;
  /** The live node leading each partition (partitions without a live leader are absent). */
  partitionLeaders(): Promise<Map<number, ClusterNode>>;
  /** Every live node answers on admin and ingress, and live nodes lead every partition. */
  waitHealthy(opts?: { timeoutMs?: number }): Promise<void>;
  /** SIGKILL one node (a crash); it is not restarted. */
  killNode(node: ClusterNode): Promise<void>;
  stop(): Promise<void>;
}

export interface RestateClusterOptions {
  nodes: number;
  baseDir: string;
  logDir: string;
  /** Copies of each log record and partition processors per partition. */
  replication: number;
  partitions?: number;
  clusterName?: string;
  /** RocksDB memory per node; the default 2 GiB is far more than a test needs (times N nodes). */
  rocksdbMemory?: string;
  /** Extra environment for every node (RESTATE_… overrides). */
  env?: NodeJS.ProcessEnv;
}

export async function startRestateCluster(opts: RestateClusterOptions): Promise<RestateCluster> {
  if (opts.nodes < opts.replication) throw new Error(`replication ${opts.replication} needs at least that many nodes`);
  const clusterName = opts.clusterName ?? "quayside-test";
  const partitions = opts.partitions ?? 4;
  mkdirSync(opts.logDir, { recursive: true });
  const ports: ClusterNodePorts[] = [];
  for (let i = 0; i < opts.nodes; i++) ports.push({ node: await freePort(), admin: await freePort(), ingress: await freePort() });
  // Every node is told where all the metadata servers are; they form one Raft group once provisioned.
  const metadataAddresses = JSON.stringify(ports.map((p) => `http://127.0.0.1:${p.node}`));

  const nodes: ClusterNode[] = ports.map((p, i) => {
    const index = i + 1;
    const nodeName = `n${index}`;
    const baseDir = path.resolve(opts.baseDir, nodeName);
    mkdirSync(baseDir, { recursive: true });
    const logFile = path.join(opts.logDir, `restate-${nodeName}.log`);
    const proc = startProcess({
      name: `restate-${nodeName}`,
      command: restateServerBin(),
      args: ["--no-logo"],
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        ...restateNodeEnv({ ports: p, baseDir, nodeName, partitions, rocksdbMemory: opts.rocksdbMemory ?? "256MiB" }),
        RESTATE_CLUSTER_NAME: clusterName,
        RESTATE_METADATA_CLIENT__ADDRESSES: metadataAddresses,
        RESTATE_AUTO_PROVISION: "false",
        RESTATE_DEFAULT_REPLICATION: String(opts.replication),
        RESTATE_BIFROST__DEFAULT_PROVIDER: "replicated",
        RESTATE_BIFROST__RECORD_CACHE_MEMORY_SIZE: "32MiB",
        ...opts.env,
      },
      output: logFile,
    });
    return {
      ...proc,
      index,
      nodeName,
      ports: p,
      nodeUrl: `http://127.0.0.1:${p.node}`,
      adminUrl: `http://127.0.0.1:${p.admin}`,
      ingressUrl: `http://127.0.0.1:${p.ingress}`,
      logFile,
      alive: true,
    };
  });

  const liveNodes = () => nodes.filter((n) => n.alive);

  const restatectl = async (args: string[], o: { timeoutMs?: number } = {}) => {
    const addresses = liveNodes()
      .map((n) => n.nodeUrl)
      .join(",");
    const { stdout } = await run(restateBinary("restatectl"), ["--address", addresses, ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: "1", CI: "true" },
      timeout: o.timeoutMs ?? 20_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  };

  const sql = async <T>(query: string): Promise<T[]> => {
    const out = (await restatectl(["sql", "--json", query])).trim();
    // restatectl prints the JSON array, then (sometimes on the same stream) a "N rows" summary.
    const end = out.lastIndexOf("]");
    return JSON.parse(end >= 0 ? out.slice(0, end + 1) : "[]") as T[];
  };

  const partitionLeaders = async () => {
    const rows = await sql<{ partition_id: number; node_name: string; state: string }>(
      "SELECT p.partition_id, n.name AS node_name, n.state FROM partition_state p " +
        "JOIN nodes n ON p.plain_node_id = n.plain_node_id " +
        "WHERE p.effective_mode = 'Leader' AND p.replay_status = 'active'",
    );
    const leaders = new Map<number, ClusterNode>();
    for (const r of rows) {
      // The table keeps the last report of a dead node for a while: only live nodes count.
      const node = liveNodes().find((n) => n.nodeName === r.node_name);
      if (node && r.state === "alive") leaders.set(Number(r.partition_id), node);
    }
    return leaders;
  };

  const stop = async () => {
    await Promise.allSettled(
      nodes.map(async (n) => {
        n.alive = false;
        await n.stop(10_000);
      }),
    );
  };

  const cluster: RestateCluster = {
    clusterName,
    partitions,
    nodes,
    liveNodes,
    restatectl,
    sql,
    partitionLeaders,
    async waitHealthy(o = {}) {
      const timeoutMs = o.timeoutMs ?? 60_000;
      const deadline = Date.now() + timeoutMs;
      for (const n of liveNodes()) {
        const left = () => Math.max(1_000, deadline - Date.now());
        await waitFor(`${n.nodeName} admin`, () => httpOk(`${n.adminUrl}/health`), { proc: n, timeoutMs: left() });
        await waitFor(`${n.nodeName} ingress`, () => httpOk(`${n.ingressUrl}/restate/health`), { proc: n, timeoutMs: left() });
      }
      await waitFor("every partition led by a live node", async () => (await partitionLeaders()).size === partitions, {
        timeoutMs: Math.max(1_000, deadline - Date.now()),
        intervalMs: 250,
      });
    },
    async killNode(node) {
      node.alive = false;
      await node.kill();
    },
    stop,
  };

  try {
    for (const n of nodes) {
      await waitFor(`${n.nodeName} node port`, () => tcpOpen(n.ports.node), { proc: n, timeoutMs: 60_000, intervalMs: 50 });
    }
    await provision(cluster, opts.replication, partitions);
    await cluster.waitHealthy({ timeoutMs: 90_000 });
  } catch (err) {
    await stop();
    throw err;
  }
  return cluster;
}

/** `restatectl provision`, retried while the metadata servers are still finding each other. */
async function provision(cluster: RestateCluster, replication: number, partitions: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await cluster.restatectl([
        "provision",
        "--yes",
        "--replication",
        String(replication),
        "--num-partitions",
        String(partitions),
        "--log-provider",
        "replicated",
      ]);
      return;
    } catch (err) {
      const detail = `${String((err as { stdout?: string }).stdout ?? "")}${String((err as { stderr?: string }).stderr ?? "")}`;
      if (/already provisioned/i.test(detail)) return;
      if (Date.now() > deadline) throw new Error(`restatectl provision failed: ${detail || String(err)}`, { cause: err });
      await sleep(250);
    }
  }
}
