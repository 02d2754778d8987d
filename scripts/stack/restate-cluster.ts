/**
 * A multi-node Restate cluster on loopback, for tests: N restate-server processes (every role on
 * every node: metadata server, admin, worker, log server, ingress) that find each other through
 * the replicated metadata server, provisioned once with restatectl (auto-provision is off, so no
 * node can form a cluster of its own), with replicated logs and partitions. Clients reach the
 * admin API and the ingress through a balancer in front of every node, as they would through a
 * Kubernetes Service, so no node is special. Any node can be SIGKILLed (`waitHealthy` then waits
 * for the survivors to lead every partition) and started again on its own data (`waitServing`
 * waits until it runs partition processors again).
 */
import { execFile } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { freePort, httpOk, startProcess, tcpOpen, waitFor, type Managed } from "./processes.ts";
import { restateBinary, restateNodeEnv, restateServerBin, type RestatePorts } from "./restate.ts";
import { ensureRequestIdentity } from "./request-identity.ts";
import { clusterState, type ClusterState, type PartitionsServed } from "./restate-cluster-state.ts";
import { startTcpBalancer, type TcpBalancer } from "./tcp-balancer.ts";

export type { Leader, PartitionsServed } from "./restate-cluster-state.ts";

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
  /** When this node's current process was started (ms since the epoch). */
  startedAt: number;
}

export interface RestateCluster extends ClusterState<ClusterNode> {
  clusterName: string;
  partitions: number;
  nodes: ClusterNode[];
  /** The admin API (and its UI) through a balancer in front of every node's admin port. */
  adminUrl: string;
  /** The ingress through a balancer in front of every node's ingress port. */
  ingressUrl: string;
  /** The public key every node signs its requests to deployments with (the worker's RESTATE_IDENTITY_KEYS). */
  identityKey: string;
  adminBalancer: TcpBalancer;
  ingressBalancer: TcpBalancer;
  liveNodes(): ClusterNode[];
  /**
   * Runs restatectl against the live nodes, the longest-running first; resolves with its stdout.
   * `restatectl sql` asks only the first address, and a node that has just come back reports only
   * part of the cluster (no partition processors at all) for its first seconds.
   */
  restatectl(args: string[], opts?: { timeoutMs?: number }): Promise<string>;
  /** Every live node answers on admin and ingress, and live nodes lead every partition. */
  waitHealthy(opts?: { timeoutMs?: number }): Promise<void>;
  /** SIGKILL one node (a crash). */
  killNode(node: ClusterNode): Promise<void>;
  /** Starts a killed node again on its own ports and data; resolves once its node port accepts. */
  restartNode(node: ClusterNode): Promise<void>;
  /**
   * Waits until a (restarted) node has rejoined: it answers on admin and ingress, it runs at least
   * one partition processor (leader or follower) that has caught up with the log, and live nodes
   * lead every partition.
   */
  waitServing(node: ClusterNode, opts?: { timeoutMs?: number }): Promise<PartitionsServed>;
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
  // One key for the whole cluster: whichever node invokes the worker, its signature must verify.
  const identity = ensureRequestIdentity(opts.baseDir);

  const nodeEnv = (index: number): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...restateNodeEnv({
      ports: ports[index - 1] as ClusterNodePorts,
      baseDir: path.resolve(opts.baseDir, `n${index}`),
      nodeName: `n${index}`,
      partitions,
      rocksdbMemory: opts.rocksdbMemory ?? "256MiB",
      identityKeyFile: identity.privateKeyFile,
    }),
    RESTATE_CLUSTER_NAME: clusterName,
    RESTATE_METADATA_CLIENT__ADDRESSES: metadataAddresses,
    RESTATE_AUTO_PROVISION: "false",
    RESTATE_DEFAULT_REPLICATION: String(opts.replication),
    RESTATE_BIFROST__DEFAULT_PROVIDER: "replicated",
    RESTATE_BIFROST__RECORD_CACHE_MEMORY_SIZE: "32MiB",
    ...opts.env,
  });
  // A restarted node gets the same name, ports and data folder: it is the same node coming back.
  const spawnNode = (index: number): Managed =>
    startProcess({
      name: `restate-n${index}`,
      command: restateServerBin(),
      args: ["--no-logo"],
      env: nodeEnv(index),
      output: path.join(opts.logDir, `restate-n${index}.log`),
    });

  const nodes: ClusterNode[] = ports.map((p, i) => {
    const index = i + 1;
    const nodeName = `n${index}`;
    mkdirSync(path.resolve(opts.baseDir, nodeName), { recursive: true });
    return {
      ...spawnNode(index),
      index,
      nodeName,
      ports: p,
      nodeUrl: `http://127.0.0.1:${p.node}`,
      adminUrl: `http://127.0.0.1:${p.admin}`,
      ingressUrl: `http://127.0.0.1:${p.ingress}`,
      logFile: path.join(opts.logDir, `restate-${nodeName}.log`),
      alive: true,
      startedAt: Date.now(),
    };
  });

  const liveNodes = () => nodes.filter((n) => n.alive);

  const restatectl = async (args: string[], o: { timeoutMs?: number } = {}) => {
    const addresses = liveNodes()
      .sort((a, b) => a.startedAt - b.startedAt)
      .map((n) => n.nodeUrl)
      .join(",");
    const { stdout } = await run(restateBinary("restatectl"), ["--address", addresses, ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: "1", CI: "true" },
      timeout: o.timeoutMs ?? 20_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  };

  const state = clusterState({ restatectl, nodes, partitions });

  /** One node's own admin API and ingress answer (asked directly: this is about that node). */
  const answers = async (n: ClusterNode, deadline: number) => {
    const left = () => Math.max(1_000, deadline - Date.now());
    await waitFor(`${n.nodeName} admin`, () => httpOk(`${n.adminUrl}/health`), { proc: n, timeoutMs: left() });
    await waitFor(`${n.nodeName} ingress`, () => httpOk(`${n.ingressUrl}/restate/health`), { proc: n, timeoutMs: left() });
  };

  const adminBalancer = await startTcpBalancer({ port: await freePort(), backends: ports.map((p) => ({ port: p.admin })) });
  const ingressBalancer = await startTcpBalancer({ port: await freePort(), backends: ports.map((p) => ({ port: p.ingress })) });

  const stop = async () => {
    await Promise.allSettled([adminBalancer.close(), ingressBalancer.close()]);
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
    adminUrl: adminBalancer.url,
    ingressUrl: ingressBalancer.url,
    identityKey: identity.publicKey,
    adminBalancer,
    ingressBalancer,
    liveNodes,
    restatectl,
    ...state,
    async waitHealthy(o = {}) {
      const timeoutMs = o.timeoutMs ?? 60_000;
      const deadline = Date.now() + timeoutMs;
      for (const n of liveNodes()) await answers(n, deadline);
      await waitFor("every partition led by a live node", async () => (await state.partitionLeaders()).size === partitions, {
        timeoutMs: Math.max(1_000, deadline - Date.now()),
        intervalMs: 250,
      });
    },
    async killNode(node) {
      node.alive = false;
      await node.kill();
    },
    async restartNode(node) {
      if (node.alive) throw new Error(`${node.nodeName} is running`);
      Object.assign(node, spawnNode(node.index), { alive: true, startedAt: Date.now() });
      await waitFor(`${node.nodeName} node port`, () => tcpOpen(node.ports.node), {
        proc: node,
        timeoutMs: 60_000,
        intervalMs: 50,
      });
    },
    async waitServing(node, o = {}) {
      const deadline = Date.now() + (o.timeoutMs ?? 60_000);
      await answers(node, deadline);
      let served: PartitionsServed = { leads: [], follows: [] };
      await waitFor(
        `${node.nodeName} serving partitions, and every partition led`,
        async () => {
          served = await state.partitionsServed(node);
          return served.leads.length + served.follows.length > 0 && (await state.partitionLeaders()).size === partitions;
        },
        { proc: node, timeoutMs: Math.max(1_000, deadline - Date.now()), intervalMs: 250 },
      );
      return served;
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
