/**
 * A Valkey Cluster on loopback: three primaries and three replicas (`--cluster-enabled yes`), joined
 * by `valkey-cli --cluster create … --cluster-replicas 1`, each node on free ports of its own
 * (client port and cluster-bus port). Every node is a process of ours, stopped by its pid. The
 * handle can crash one primary and wait for its replica to take over (the cluster test).
 */
import { execFile } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { freePort, startProcess, waitFor, type Managed } from "./processes.ts";
import { findValkeyServer, ping, serverArgs } from "./valkey.ts";

const run = promisify(execFile);

export interface ValkeyClusterNode {
  port: number;
  proc: Managed;
}

export interface ValkeyCluster {
  nodes: ValkeyClusterNode[];
  /** The seed list the app takes as `VALKEY_CLUSTER_NODES`: `127.0.0.1:<port>,…`. */
  seeds: string;
  /** The whole cluster as one process handle: stop and kill reach every node (by pid). */
  managed: Managed;
  /** Waits until every replica has applied all its primary has written (nothing in flight to lose). */
  replicasCaughtUp(timeoutMs?: number): Promise<void>;
  /** SIGKILLs the primary serving `key`'s slot; resolves with the killed node and its replica's port. */
  killPrimaryOf(key: string): Promise<{ killed: ValkeyClusterNode; replicaPort: number }>;
  /** Waits until `port` serves as a primary and every live node reports the cluster healthy. */
  promoted(port: number, timeoutMs?: number): Promise<void>;
}

export interface ValkeyClusterOptions {
  /** Emptied first: a cluster is created afresh on new ports each time, so old node files would only mislead it. */
  dataDir: string;
  /** Log files go to `<logDir>/valkey-<port>.log`. */
  logDir: string;
  /** Client ports of the six nodes; free ones when absent. */
  ports?: number[];
  primaries?: number;
}

/** The cli that ships with the server found on PATH (valkey-cli beside valkey-server, redis-cli beside redis-server). */
function cliFor(server: string): string {
  return path.join(path.dirname(server), path.basename(server).replace(/-server$/, "-cli"));
}

function admin(port: number): Redis {
  return new Redis(port, "127.0.0.1", {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1_000,
  });
}

async function ask<T>(port: number, fn: (r: Redis) => Promise<T>): Promise<T | null> {
  const r = admin(port);
  r.on("error", () => undefined);
  try {
    await r.connect();
    return await fn(r);
  } catch {
    return null;
  } finally {
    r.disconnect();
  }
}

/** `CLUSTER NODES`, one row per node: its port, whether it is a primary, its id and (replicas) its primary's id. */
async function clusterNodes(port: number) {
  const text = await ask(port, (r) => r.call("CLUSTER", "NODES") as Promise<string>);
  if (!text) return null;
  return text
    .trim()
    .split("\n")
    .map((line) => {
      const [id, addr, flags, primaryId] = line.split(" ");
      return {
        id: id!,
        port: Number(/:(\d+)@/.exec(addr ?? "")?.[1]),
        primary: (flags ?? "").split(",").includes("master"),
        failed: /fail/.test(flags ?? ""),
        primaryId: primaryId === "-" ? null : (primaryId ?? null),
      };
    });
}

async function clusterOk(port: number): Promise<boolean> {
  const info = await ask(port, (r) => r.call("CLUSTER", "INFO") as Promise<string>);
  return !!info && /cluster_state:ok/.test(info) && /cluster_slots_ok:16384/.test(info);
}

export async function startValkeyCluster(opts: ValkeyClusterOptions): Promise<ValkeyCluster> {
  const server = findValkeyServer();
  const primaries = opts.primaries ?? 3;
  const count = primaries * 2;
  const ports = opts.ports ?? (await Promise.all(Array.from({ length: count }, () => freePort())));
  rmSync(opts.dataDir, { recursive: true, force: true });
  const nodes: ValkeyClusterNode[] = [];
  const stopAll = async (how: "stop" | "kill", graceMs?: number) => {
    await Promise.allSettled(nodes.map((n) => (how === "kill" ? n.proc.kill() : n.proc.stop(graceMs))));
  };
  try {
    for (const port of ports) {
      const dir = path.resolve(opts.dataDir, `node-${port}`);
      mkdirSync(dir, { recursive: true });
      const busPort = await freePort();
      const proc = startProcess({
        name: `valkey-${port}`,
        command: server,
        args: [
          ...serverArgs(port, dir),
          "--cluster-enabled",
          "yes",
          "--cluster-config-file",
          "nodes.conf",
          "--cluster-port",
          String(busPort),
          // A primary that stops answering for 2 s is failed over to its replica.
          "--cluster-node-timeout",
          "2000",
          // A replica takes over however long its link was down: on loopback it cannot be far behind.
          "--cluster-replica-validity-factor",
          "0",
          // One shard failing over leaves the other shards serving their slots.
          "--cluster-require-full-coverage",
          "no",
        ],
        output: path.join(opts.logDir, `valkey-${port}.log`),
      });
      nodes.push({ port, proc });
    }
    for (const n of nodes)
      await waitFor(`valkey ${n.port}`, () => ping(n.port), { proc: n.proc, timeoutMs: 15_000, intervalMs: 50 });
    await run(
      cliFor(server),
      ["--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`), "--cluster-replicas", "1", "--cluster-yes"],
      { timeout: 60_000 },
    );
    await waitFor(
      "valkey cluster",
      async () => {
        for (const n of nodes) if (!(await clusterOk(n.port))) return false;
        const view = await clusterNodes(ports[0]!);
        return !!view && view.filter((v) => v.primary).length === primaries && view.length === count;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
  } catch (err) {
    await stopAll("kill");
    throw err;
  }

  const live = () => nodes.filter((n) => n.proc.child.exitCode === null && n.proc.child.signalCode === null);
  const exited = Promise.all(nodes.map((n) => n.proc.exited)).then(() => 0);

  const cluster: ValkeyCluster = {
    nodes,
    seeds: ports.map((p) => `127.0.0.1:${p}`).join(","),
    managed: {
      name: "valkey-cluster",
      // The first node stands for the group where one child is asked for; stop and kill reach all of them.
      child: nodes[0]!.proc.child,
      exited,
      stop: (graceMs) => stopAll("stop", graceMs),
      kill: () => stopAll("kill"),
    },
    async replicasCaughtUp(timeoutMs = 30_000) {
      await waitFor(
        "valkey replicas caught up",
        async () => {
          for (const n of live()) {
            const info = await ask(n.port, (r) => r.info("replication"));
            if (!info) return false;
            if (!/role:slave/.test(info)) continue;
            const primaryPort = Number(/master_port:(\d+)/.exec(info)?.[1]);
            const applied = Number(/slave_repl_offset:(\d+)/.exec(info)?.[1] ?? -1);
            const primaryInfo = await ask(primaryPort, (r) => r.info("replication"));
            const written = Number(/master_repl_offset:(\d+)/.exec(primaryInfo ?? "")?.[1] ?? Infinity);
            if (!/master_link_status:up/.test(info) || applied < written) return false;
          }
          return true;
        },
        { timeoutMs, intervalMs: 100 },
      );
    },
    async killPrimaryOf(key) {
      const anyLive = live()[0];
      if (!anyLive) throw new Error("no valkey node is running");
      const port = await ask(anyLive.port, async (r) => {
        const slot = (await r.call("CLUSTER", "KEYSLOT", key)) as number;
        const shards = (await r.call("CLUSTER", "SLOTS")) as Array<
          [number, number, [string, number, ...unknown[]], ...unknown[]]
        >;
        return shards.find(([from, to]) => slot >= from && slot <= to)?.[2][1] ?? null;
      });
      const killed = nodes.find((n) => n.port === port);
      const view = await clusterNodes(anyLive.port);
      const primaryId = view?.find((v) => v.port === port)?.id;
      const replicaPort = view?.find((v) => v.primaryId === primaryId)?.port;
      if (!killed || !replicaPort) throw new Error(`no primary with a replica serves ${key}`);
      await killed.proc.kill();
      return { killed, replicaPort };
    },
    async promoted(port, timeoutMs = 60_000) {
      await waitFor(
        `valkey ${port} promoted`,
        async () => {
          const info = await ask(port, (r) => r.info("replication"));
          if (!info || !/role:master/.test(info)) return false;
          for (const n of live()) if (!(await clusterOk(n.port))) return false;
          return true;
        },
        { timeoutMs, intervalMs: 200 },
      );
    },
  };
  return cluster;
}
