/**
 * The soak's memory watch (`npm run chaos -- --soak`): samples the web's and the worker's RSS and
 * Valkey's used memory while the chaos run goes on, then says whether each stayed flat after the
 * warm-up, and whether the progress streams stayed bounded (every one with an expiry, none longer
 * than its cap). The worker is killed and restarted during the run, so its RSS is judged within
 * the life of each process: the last sample before a kill against the first after its warm-up.
 */
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";

export interface SoakSample {
  /** Wall-clock ms (Date.now). */
  atMs: number;
  webKb: number;
  workerKb: number;
  workerPid: number;
  valkeyKb: number;
  /** What Valkey's memory is made of: keys, the data set, its overhead, the AOF buffer, client buffers. */
  valkey: { keys: number; datasetKb: number; overheadKb: number; aofBufferKb: number; clientsKb: number; expiredKeys: number };
  /** Live keys by family (`owner:order`, `session`, `progress:order`, `ratelimit`, …) and how many have no expiry. */
  keyFamilies: Record<string, number>;
  keysWithoutExpiry: number;
}

/** The family of a key: its first two segments, ids and session ids left out. */
function familyOf(key: string): string {
  const [a = "", b = ""] = key.split(":");
  return a === "session" || a === "ratelimit" || a === "operator" ? a : `${a}:${b}`;
}

/** Every live key, counted by family, and those without an expiry (SCAN: fine at the soak's tens of thousands). */
async function keyCensus(redis: Redis): Promise<{ families: Record<string, number>; withoutExpiry: number }> {
  const families: Record<string, number> = {};
  let withoutExpiry = 0;
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "COUNT", 2000);
    cursor = next;
    const ttls = keys.length > 0 ? await Promise.all(keys.map((k) => redis.ttl(k))) : [];
    keys.forEach((k, i) => {
      const f = familyOf(k);
      families[f] = (families[f] ?? 0) + 1;
      if (ttls[i] === -1) withoutExpiry++;
    });
  } while (cursor !== "0");
  return { families, withoutExpiry };
}

export interface SoakFigures {
  samples: number;
  /** Growth from the end of the warm-up to the end, in % (NaN: the run ended before it was steady). */
  webGrowthPct: number;
  valkeyGrowthPct: number;
  /** Growth of Valkey's data set per live key: what the judgement uses (see judgeSoak). */
  valkeyPerKeyGrowthPct: number;
  keysWithoutExpiry: number;
  /** The largest growth of one worker process over its life after the warm-up, in %. */
  workerGrowthPct: number;
  progressStreams: number;
  streamsWithoutExpiry: number;
  longestStream: number;
  /** Valkey at the end of the warm-up and at the end, field by field: where a growth went. */
  valkeyDetail: string;
  violations: string[];
}

const rssKb = (pid: number | undefined) => {
  if (!pid) return NaN;
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
};

/** Samples every `intervalMs` until `stop()`; `pids` is read at each sample (the worker's changes). */
export function watchMemory(
  pids: () => { web: number | undefined; worker: number | undefined },
  redis: Redis,
  intervalMs = 5_000,
) {
  const samples: SoakSample[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const { web, worker } = pids();
      const info = await redis.info().catch(() => "");
      const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, "m").exec(info)?.[1] ?? NaN);
      const valkeyKb = field("used_memory") / 1024;
      const valkey = {
        keys: Number(/^db0:keys=(\d+)/m.exec(info)?.[1] ?? 0),
        datasetKb: field("used_memory_dataset") / 1024,
        overheadKb: field("used_memory_overhead") / 1024,
        aofBufferKb: field("mem_aof_buffer") / 1024,
        clientsKb: field("mem_clients_normal") / 1024,
        expiredKeys: field("expired_keys"),
      };
      const census = await keyCensus(redis).catch(() => ({ families: {}, withoutExpiry: 0 }));
      samples.push({
        atMs: Date.now(),
        webKb: rssKb(web),
        workerKb: rssKb(worker),
        workerPid: worker ?? 0,
        valkeyKb,
        valkey,
        keyFamilies: census.families,
        keysWithoutExpiry: census.withoutExpiry,
      });
      await sleep(intervalMs);
    }
  })();
  return {
    samples,
    async stop() {
      running = false;
      await loop;
    },
  };
}

const growth = (from: number, to: number) =>
  Number.isFinite(from) && Number.isFinite(to) && from > 0 ? (100 * (to - from)) / from : NaN;

/**
 * Judges the samples; `maxLen` is the progress streams' cap (PROGRESS_STREAM_MAXLEN). Growth is
 * measured from the first sample at or after `steadyFrom` (wall-clock ms): the end of the warm-up,
 * which the caller puts after the last disruption that empties memory (Valkey's restart) plus the
 * time what the run keeps on purpose takes to expire.
 */
export async function judgeSoak(samples: SoakSample[], redis: Redis, maxLen: number, steadyFrom: number): Promise<SoakFigures> {
  const violations: string[] = [];
  const ok = samples.filter((s) => Number.isFinite(s.webKb) && Number.isFinite(s.valkeyKb));
  const warm = ok.find((s, i) => i >= Math.floor(ok.length / 4) && s.atMs >= steadyFrom);
  const last = ok.at(-1);
  const webGrowthPct = warm && last ? growth(warm.webKb, last.webKb) : NaN;
  const valkeyGrowthPct = warm && last ? growth(warm.valkeyKb, last.valkeyKb) : NaN;
  // Valkey holds what the run keeps on purpose, all of it expiring: its memory follows the order
  // rate times the keys' lifetimes, so it is judged per live key (a leak grows what each key
  // costs, or leaves keys that never expire), and its total growth is reported beside.
  const perKey = (x: SoakSample) => (x.valkey.keys > 0 ? x.valkey.datasetKb / x.valkey.keys : NaN);
  const valkeyPerKeyGrowthPct = warm && last ? growth(perKey(warm), perKey(last)) : NaN;
  const keysWithoutExpiry = Math.max(0, ...ok.filter((x) => x.atMs >= steadyFrom).map((x) => x.keysWithoutExpiry));
  // Per worker process (the run restarts it): its own samples after the warm-up, judged when it
  // lived at least a minute of them. A soak's faults are all in its first half, so the last
  // process lives through the steady state.
  let workerGrowthPct = Number.NEGATIVE_INFINITY;
  const byPid = new Map<number, SoakSample[]>();
  for (const s of samples)
    if (s.workerPid && Number.isFinite(s.workerKb) && s.atMs >= steadyFrom)
      byPid.set(s.workerPid, [...(byPid.get(s.workerPid) ?? []), s]);
  for (const list of byPid.values()) {
    if (list.length < 12) continue; // too short a life to judge
    const g = growth(list[0]!.workerKb, list.at(-1)!.workerKb);
    if (Number.isFinite(g)) workerGrowthPct = Math.max(workerGrowthPct, g);
  }
  if (!Number.isFinite(workerGrowthPct)) workerGrowthPct = NaN;
  for (const [what, g] of [
    ["web RSS", webGrowthPct],
    ["Valkey memory per live key", valkeyPerKeyGrowthPct],
    ["worker RSS", workerGrowthPct],
  ] as const) {
    if (g > 10) violations.push(`${what} grew ${g.toFixed(1)} % after the warm-up`);
  }
  if (keysWithoutExpiry > 0) violations.push(`${keysWithoutExpiry} Valkey keys without an expiry`);

  // Progress streams: bounded by MAXLEN (approximate trimming, so allow its slack) and expiring.
  let progressStreams = 0;
  let streamsWithoutExpiry = 0;
  let longestStream = 0;
  let cursor = "0";
  do {
    const [nextCursor, keys] = await redis.scan(cursor, "MATCH", "progress:*:events", "COUNT", 1000);
    cursor = nextCursor;
    for (const key of keys) {
      progressStreams++;
      // -1: no expiry; -2: it expired between the scan and now, which is the point.
      if ((await redis.ttl(key)) === -1) streamsWithoutExpiry++;
      longestStream = Math.max(longestStream, await redis.xlen(key));
    }
  } while (cursor !== "0");
  if (streamsWithoutExpiry > 0) violations.push(`${streamsWithoutExpiry} progress streams without an expiry`);
  // XADD MAXLEN ~ trims by whole macro nodes (100 entries by default): a stream may hold that many more.
  if (longestStream > maxLen + 100) violations.push(`a progress stream holds ${longestStream} events (cap ${maxLen})`);
  const detail = (x: SoakSample | undefined) =>
    x
      ? `${x.valkey.keys} keys, data ${x.valkey.datasetKb.toFixed(0)} KB, overhead ${x.valkey.overheadKb.toFixed(0)} KB, ` +
        `AOF buffer ${x.valkey.aofBufferKb.toFixed(0)} KB, client buffers ${x.valkey.clientsKb.toFixed(0)} KB, ` +
        `${x.valkey.expiredKeys} keys expired so far; by family ${JSON.stringify(x.keyFamilies)}`
      : "no sample";
  return {
    valkeyDetail: `after the warm-up: ${detail(warm)}; at the end: ${detail(last)}`,
    valkeyPerKeyGrowthPct,
    keysWithoutExpiry,
    samples: samples.length,
    webGrowthPct,
    valkeyGrowthPct,
    workerGrowthPct,
    progressStreams,
    streamsWithoutExpiry,
    longestStream,
    violations,
  };
}
