/** Report sections 3 and 3b: the SSE fan-out in each design and setting, its idle phase, and the reconnect storm. */
import type { SseResults } from "./bench-results.ts";
import { f, ok, ratio, table } from "./report-format.ts";
import type { FanoutResult } from "./sse-fanout.scenario.ts";
import type { StormResult } from "./sse-storm.scenario.ts";

const FANOUT_HEAD = [
  "design",
  "clients",
  "connected",
  "orders",
  "events/s",
  "delivered",
  "p50 ms",
  "p99 ms",
  "web RSS MB",
  "RSS KB/conn",
  "margin KB/conn",
  "web CPU %",
  "Valkey conns",
  "connect s",
  "target",
];

export function sseSection(s: SseResults): string[] {
  return [
    "\n### 3. SSE fan-out: one web process, events published at a fixed rate through the worker's publisher\n",
    table(FANOUT_HEAD, fanoutRows(s)),
    "\nRSS KB/conn: the web's growth from idle to every client connected and the events published, per client. " +
      "margin KB/conn: its growth over the second half of the clients, per client (what one more connection costs, " +
      "without what the first burst of load costs once).",
    ...sseIdleTable(s),
  ];
}

function fanoutRow(name: string, x: FanoutResult, target: string): string[] {
  return [
    name,
    String(x.clients),
    `${x.connected}`,
    String(x.orders),
    String(x.eventsPerSecond),
    `${x.delivered}/${x.expectedDeliveries}`,
    f(x.latency.p50),
    f(x.latency.p99),
    f(x.webRssMb, 0),
    f(x.rssPerConnectionKb),
    f(x.marginalRssPerConnectionKb),
    f(x.webCpuPercent, 0),
    String(x.valkeyConnections),
    f(x.connectSeconds),
    target,
  ];
}

/** The default design with its targets, then each other run the bench made, then the naive design against the shared one. */
function fanoutRows(s: SseResults): string[][] {
  const rows = [
    fanoutRow(
      "shared subscriber (default)",
      s.shared,
      `p99 ≤ 100 ms (${ok(s.shared.latency.p99 <= 100)}), ≤ 20 KB/conn (${ok(s.shared.rssPerConnectionKb <= 20)})`,
    ),
  ];
  if (s.large) rows.push(fanoutRow("shared subscriber (large)", s.large, ""));
  if (s.quietOff) rows.push(fanoutRow("shared, quiet check off", s.quietOff, ""));
  if (s.cluster) rows.push(fanoutRow("shared, Valkey Cluster (3 primaries)", s.cluster, ""));
  if (s.largeNotRun)
    rows.push(["shared subscriber (large)", String(s.largeNotRun.clients), ...Array<string>(12).fill(""), s.largeNotRun.reason]);
  if (s.naive) rows.push(...naiveRows(s.naive, s.sharedAtNaiveLoad, s.shared));
  return rows;
}

function naiveRows(naive: FanoutResult, sharedAtNaiveLoad: FanoutResult | undefined, shared: FanoutResult): string[][] {
  const base = sharedAtNaiveLoad ?? shared;
  return [
    ...(sharedAtNaiveLoad ? [fanoutRow("shared subscriber (naive's load)", sharedAtNaiveLoad, "")] : []),
    fanoutRow("naive: one subscriber per client", naive, ""),
    [
      "naive vs shared",
      "",
      "",
      "",
      "",
      "",
      ratio(naive.latency.p50, base.latency.p50),
      ratio(naive.latency.p99, base.latency.p99),
      ratio(naive.webRssMb, base.webRssMb),
      ratio(naive.rssPerConnectionKb, base.rssPerConnectionKb),
      ratio(naive.marginalRssPerConnectionKb, base.marginalRssPerConnectionKb),
      ratio(naive.webCpuPercent, base.webCpuPercent),
      ratio(naive.valkeyConnections, base.valkeyConnections),
      ratio(naive.connectSeconds, base.connectSeconds),
      "",
    ],
  ];
}

/** The fan-outs' idle phase: every stream open, nothing published; what the quiet check costs. */
function sseIdleTable(s: SseResults): string[] {
  const runs: Array<[string, FanoutResult | undefined]> = [
    ["shared subscriber (default)", s.shared],
    ["shared, quiet check off", s.quietOff],
    ["shared, Valkey Cluster (3 primaries)", s.cluster],
  ];
  const rows = runs.flatMap(([name, x]) =>
    x?.idle
      ? [[name, String(x.clients), f(x.idle.seconds, 0), f(x.idle.webCpuPercent, 1), f(x.idle.postgresTransactionsPerSecond, 1)]]
      : [],
  );
  if (rows.length === 0) return [];
  return [
    "\nIdle: every stream still open, nothing published (the quiet check reads the rows of streams that heard nothing for `SSE_QUIET_CHECK_MS`).\n",
    table(["design", "streams", "idle s", "web CPU %", "PostgreSQL transactions/s"], rows),
  ];
}

/** Section 3b. */
export function stormSection(s: StormResult): string[] {
  const head = [
    "clients",
    "orders",
    "open before",
    "events while down",
    "owed",
    "reconnected",
    "caught up exactly",
    "duplicates",
    "missing",
    "all accepted s",
    "storm s",
    "Restate calls",
    "target",
  ];
  const target = `all back ≤ 10 s (${ok(s.caughtUp === s.clients && s.stormSeconds <= 10)}), calls ≤ 1 % (${ok(s.restateCalls <= s.clients / 100)})`;
  const row = [
    String(s.clients),
    String(s.orders),
    String(s.connectedBefore),
    String(s.publishedWhileDown),
    String(s.owed),
    String(s.reconnected),
    String(s.caughtUp),
    String(s.duplicates),
    String(s.missing),
    f(s.acceptedSeconds),
    f(s.stormSeconds),
    String(s.restateCalls),
    target,
  ];
  return [
    "\n### 3b. SSE reconnect storm: the web restarted under open streams, every client back within 1 s with its Last-Event-ID\n",
    table(head, [row]),
  ];
}
