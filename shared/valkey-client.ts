/**
 * One way to connect to Valkey, in either of its two shapes: a single primary (`VALKEY_URL`) or a
 * cluster (`VALKEY_CLUSTER_NODES` as seeds, credentials and TLS from `VALKEY_URL`). Adapters take
 * a `ValkeyClient` and work on both: every key of one call shares a hash tag, so a cluster never
 * sees a cross-slot request (docs/design.md, "Valkey Cluster").
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from "ioredis";

export type ValkeyClient = Redis | Cluster;

export interface ValkeyTarget {
  VALKEY_URL: string;
  VALKEY_CLUSTER_NODES?: string[] | undefined;
}

export interface ValkeyConnectOptions extends RedisOptions {
  /** Commands queued while the cluster's topology is being read (the `Cluster` client's own queue). */
  clusterOfflineQueue?: boolean;
}

/** True for a cluster client: it needs sharded pub/sub and one slot per call. */
export function isCluster(client: ValkeyClient): client is Cluster {
  return client instanceof Cluster;
}

/** A client for the configured Valkey: a `Redis` for one primary, a `Cluster` for seed nodes. */
export function connectValkey(target: ValkeyTarget, options: ValkeyConnectOptions = {}): ValkeyClient {
  const { clusterOfflineQueue, ...redisOptions } = options;
  if (!target.VALKEY_CLUSTER_NODES) return new Redis(target.VALKEY_URL, redisOptions);
  const url = new URL(target.VALKEY_URL);
  const nodes = target.VALKEY_CLUSTER_NODES.map((n) => {
    const at = n.lastIndexOf(":");
    return { host: n.slice(0, at), port: Number(n.slice(at + 1)) };
  });
  const perNode: RedisOptions = {
    ...redisOptions,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(url.protocol === "rediss:" ? { tls: {} } : {}),
  };
  const { enableAutoPipelining, retryStrategy, ...nodeOptions } = perNode;
  const clusterOptions: ClusterOptions = {
    redisOptions: nodeOptions,
    // The web places its own subscriptions (web/progress/shard-subscribers.ts); nothing else subscribes.
    shardedSubscribers: false,
    enableOfflineQueue: clusterOfflineQueue ?? options.enableOfflineQueue ?? true,
    enableAutoPipelining: enableAutoPipelining ?? false,
    // Bounded, and kept trying: a whole cluster unreachable is retried like a single server is.
    clusterRetryStrategy: (times) => (retryStrategy ? (retryStrategy(times) ?? 2_000) : Math.min(times * 200, 2_000)),
    // A failover moves slots: follow MOVED at once, wait a moment on CLUSTERDOWN and TRYAGAIN.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    retryDelayOnTryAgain: 100,
    slotsRefreshTimeout: 1_000,
  };
  return new Cluster(nodes, clusterOptions);
}
