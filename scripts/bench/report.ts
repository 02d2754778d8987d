/** Markdown tables for `npm run bench`: every figure beside its same-run baseline, as a ratio, with the team's target. */
import type { FanoutResult } from "./sse-fanout.scenario.ts";
import type { StartupResult } from "./startup.scenario.ts";
import type { LoadResult } from "./stats.ts";

export interface IngestResult {
  web: LoadResult;
  raw: LoadResult;
  cpu?: { web: Record<string, number>; raw: Record<string, number> };
}

export interface BenchResults {
  machine: Record<string, string | number>;
  settings: Record<string, string | number>;
  orders?: Array<{ web: LoadResult; raw: LoadResult; cpu?: { web: Record<string, number>; raw: Record<string, number> } }>;
  ingest?: IngestResult;
  /** Ingest with the worker and the raw endpoint stopped: only the ingest paths. */
  ingestOnly?: IngestResult;
  sse?: { shared: FanoutResult; naive?: FanoutResult; sharedAtNaiveLoad?: FanoutResult };
  startup?: StartupResult;
  startedAt: string;
  totalSeconds?: number;
}

const f = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "–");
const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${(a / b).toFixed(2)}×` : "–");
const ok = (pass: boolean) => (pass ? "met" : "**not met**");
const table = (head: string[], rows: string[][]) =>
  [`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");

export function renderMarkdown(r: BenchResults): string {
  const out: string[] = [];
  out.push(
    `Machine: ${Object.entries(r.machine)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}.`,
  );
  out.push(
    `Settings: ${Object.entries(r.settings)
      .map(([k, v]) => `${k}=${v}`)
      .join(", ")}.`,
  );
  if (r.orders) {
    out.push(
      "\n### 1. Order pipeline: form POST → terminal event on the order's SSE stream, vs raw Restate 3-step no-op workflow (submit + result)\n",
    );
    out.push(
      table(
        [
          "concurrency",
          "orders/s",
          "p50 ms",
          "p99 ms",
          "raw wf/s",
          "raw p50 ms",
          "raw p99 ms",
          "throughput vs raw",
          "p50 vs raw",
          "target",
        ],
        r.orders.map(({ web, raw }) => {
          const tput = web.perSecond / raw.perSecond;
          const target =
            web.concurrency === 1
              ? `≥ 0.33× (${ok(tput >= 0.33)}); p50 ≤ 3× (${ok(web.latency.p50 / raw.latency.p50 <= 3)})`
              : `≥ 0.33× (${ok(tput >= 0.33)})`;
          return [
            String(web.concurrency),
            f(web.perSecond),
            f(web.latency.p50),
            f(web.latency.p99),
            f(raw.perSecond),
            f(raw.latency.p50),
            f(raw.latency.p99),
            ratio(web.perSecond, raw.perSecond),
            ratio(web.latency.p50, raw.latency.p50),
            target,
          ];
        }),
      ),
    );
    const withCpu = r.orders.filter((o) => o.cpu);
    if (withCpu.length) {
      const names = Object.keys(withCpu[0]!.cpu!.web);
      out.push("\nCPU during each run, % of one core (2 cores in all):\n");
      out.push(
        table(
          ["run", ...names],
          withCpu.flatMap((o) => [
            [`orders c=${o.web.concurrency}`, ...names.map((n) => f(o.cpu!.web[n] ?? NaN, 0))],
            [`raw c=${o.raw.concurrency}`, ...names.map((n) => f(o.cpu!.raw[n] ?? NaN, 0))],
          ]),
        ),
      );
    }
    const errs = r.orders.flatMap(({ web, raw }) => [web, raw]).filter((l) => l.errors > 0);
    if (errs.length)
      out.push(`\nErrors: ${errs.map((l) => `c=${l.concurrency}: ${l.errors} (${l.firstError ?? ""})`).join("; ")}`);
  }
  for (const [ingest, title] of [
    [r.ingest, "workers running: the accepted orders execute meanwhile"],
    [r.ingestOnly, "worker and raw endpoint stopped: the ingest paths only"],
  ] as const) {
    if (!ingest) continue;
    const { web, raw, cpu } = ingest;
    out.push(
      `\n### 2. Form ingest (${title}): accepted POST /orders per second vs raw workflow submit, concurrency ${web.concurrency}\n`,
    );
    out.push(
      table(
        ["", "per second", "p50 ms", "p99 ms", "errors", ...(cpu ? Object.keys(cpu.web).map((n) => `CPU % ${n}`) : [])],
        [
          [
            "POST /orders (303)",
            f(web.perSecond),
            f(web.latency.p50),
            f(web.latency.p99),
            String(web.errors),
            ...(cpu ? Object.values(cpu.web).map((v) => f(v, 0)) : []),
          ],
          [
            "raw workflowSubmit",
            f(raw.perSecond),
            f(raw.latency.p50),
            f(raw.latency.p99),
            String(raw.errors),
            ...(cpu ? Object.values(cpu.raw).map((v) => f(v, 0)) : []),
          ],
          [
            "ratio",
            ratio(web.perSecond, raw.perSecond),
            ratio(web.latency.p50, raw.latency.p50),
            ratio(web.latency.p99, raw.latency.p99),
            `target ≥ 0.8× (${ok(web.perSecond / raw.perSecond >= 0.8)})`,
            ...(cpu ? Object.keys(cpu.web).map(() => "") : []),
          ],
        ],
      ),
    );
  }
  if (r.sse) {
    const s = r.sse;
    out.push("\n### 3. SSE fan-out: one web process, events published at a fixed rate through the worker's publisher\n");
    const row = (name: string, x: FanoutResult, target: string) => [
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
      f(x.webCpuPercent, 0),
      String(x.valkeyConnections),
      f(x.connectSeconds),
      target,
    ];
    const rows = [
      row(
        "shared subscriber (default)",
        s.shared,
        `p99 ≤ 100 ms (${ok(s.shared.latency.p99 <= 100)}), ≤ 20 KB/conn (${ok(s.shared.rssPerConnectionKb <= 20)})`,
      ),
    ];
    if (s.naive) {
      const base = s.sharedAtNaiveLoad ?? s.shared;
      if (s.sharedAtNaiveLoad) rows.push(row("shared subscriber (naive's load)", s.sharedAtNaiveLoad, ""));
      rows.push(row("naive: one subscriber per client", s.naive, ""));
      rows.push([
        "naive vs shared",
        "",
        "",
        "",
        "",
        "",
        ratio(s.naive.latency.p50, base.latency.p50),
        ratio(s.naive.latency.p99, base.latency.p99),
        ratio(s.naive.webRssMb, base.webRssMb),
        ratio(s.naive.rssPerConnectionKb, base.rssPerConnectionKb),
        ratio(s.naive.webCpuPercent, base.webCpuPercent),
        ratio(s.naive.valkeyConnections, base.valkeyConnections),
        ratio(s.naive.connectSeconds, base.connectSeconds),
        "",
      ]);
    }
    out.push(
      table(
        [
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
          "web CPU %",
          "Valkey conns",
          "connect s",
          "target",
        ],
        rows,
      ),
    );
  }
  if (r.startup) {
    const u = r.startup;
    out.push("\n### 4. Start-up\n");
    out.push(
      table(
        ["what", "ms", "baseline", "baseline ms", "ratio", "target"],
        [
          [
            "`npm run dev` → ready, first run (initdb)",
            f(u.devColdMs, 0),
            "restate-server alone → ingress healthy",
            f(u.restateAloneMs, 0),
            ratio(u.devColdMs, u.restateAloneMs),
            `≤ 5000 ms (${ok(u.devColdMs <= 5000)})`,
          ],
          [
            "`npm run dev` → ready, warm data folder",
            f(u.devWarmMs, 0),
            "restate-server alone → ingress healthy",
            f(u.restateAloneMs, 0),
            ratio(u.devWarmMs, u.restateAloneMs),
            `≤ 5000 ms (${ok(u.devWarmMs <= 5000)})`,
          ],
          [
            "worker restart → serving",
            f(u.workerServingMs, 0),
            "raw endpoint restart → serving",
            f(u.rawEndpointServingMs, 0),
            ratio(u.workerServingMs, u.rawEndpointServingMs),
            "",
          ],
          [
            "worker restart → registered",
            f(u.workerRegisteredMs, 0),
            "raw endpoint restart → serving",
            f(u.rawEndpointServingMs, 0),
            ratio(u.workerRegisteredMs, u.rawEndpointServingMs),
            "",
          ],
        ],
      ),
    );
  }
  if (r.totalSeconds !== undefined) out.push(`\nTotal bench time: ${f(r.totalSeconds, 0)} s.`);
  return out.join("\n");
}
