/** Markdown tables for `npm run bench`: every figure beside its same-run baseline, as a ratio, with the team's target. */
import type { CheckoutResult } from "./checkout.scenario.ts";
import type { FlashPhase, FlashResult } from "./flash-sale.scenario.ts";
import type { OrderAccount } from "./order-account.ts";
import type { WorkPerOrder } from "./work-count.ts";
import type { FanoutResult } from "./sse-fanout.scenario.ts";
import type { StormResult } from "./sse-storm.scenario.ts";
import type { StartupResult } from "./startup.scenario.ts";
import type { LoadResult, Summary } from "./stats.ts";

export interface IngestResult {
  web: LoadResult;
  raw: LoadResult;
  cpu?: { web: Record<string, number>; raw: Record<string, number> };
}

/** A baseline run in a process of its own; `cpu` is % of one core by process, its own included. */
export interface BaselineRun {
  load: LoadResult;
  cpu: Record<string, number>;
}

export interface BenchResults {
  machine: Record<string, string | number>;
  settings: Record<string, string | number>;
  orders?: Array<{
    web: LoadResult;
    raw: LoadResult;
    cpu?: { web: Record<string, number>; raw: Record<string, number> };
    /** The same work without durability: the order's adapters called in sequence by a plain process. */
    plain?: BaselineRun;
    /** The raw 3-step workflow on DBOS Transact. */
    dbos?: BaselineRun;
  }>;
  /** Journal entries, invocations and the latency breakdown of one order (concurrency 1). */
  orderAccount?: OrderAccount;
  /** PostgreSQL transactions and Valkey commands per order at concurrency 1, counted. */
  orderWork?: WorkPerOrder;
  ingest?: IngestResult;
  /** Ingest with the worker and the raw endpoint stopped: only the ingest paths. */
  ingestOnly?: IngestResult;
  sse?: {
    shared: FanoutResult;
    naive?: FanoutResult;
    sharedAtNaiveLoad?: FanoutResult;
    /** The large fan-out (30,000 clients by default), or why it was not run. */
    large?: FanoutResult;
    largeNotRun?: { clients: number; reason: string };
    /** The same fan-out with the quiet check off: the idle phase's baseline. */
    quietOff?: FanoutResult;
    /** The same fan-out on a Valkey Cluster (three primaries, three replicas). */
    cluster?: FanoutResult;
  };
  storm?: StormResult;
  /** Orders paid on the hosted payment page (scenario 1b). */
  checkout?: CheckoutResult;
  startup?: StartupResult;
  /** One product with fewer units than buyers, beside the same sale spread over several products (scenario 5). */
  flash?: FlashResult;
  startedAt: string;
  totalSeconds?: number;
}

const f = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "–");
const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${(a / b).toFixed(2)}×` : "–");
const ok = (pass: boolean) => (pass ? "met" : "**not met**");
const table = (head: string[], rows: string[][]) =>
  [`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");

type OrdersRun = NonNullable<BenchResults["orders"]>[number];
/** Processes that do the work (the bench client drives the load and is shown apart). */
const WORKING = (name: string) => name !== "bench client";

/** CPU ms per completed order (per raw workflow) by process: % of a core × seconds / completed. */
function cpuPerUnit(runs: OrdersRun[]): string {
  const names = [...new Set([...Object.keys(runs[0]!.cpu!.web), ...(runs[0]!.plain ? ["baseline process"] : [])])];
  const perUnit = (cpu: Record<string, number>, l: LoadResult) =>
    Object.fromEntries(names.map((n) => [n, ((cpu[n] ?? 0) / 100) * ((l.seconds * 1000) / Math.max(1, l.completed))]));
  const total = (m: Record<string, number>) => names.filter(WORKING).reduce((a, n) => a + (m[n] ?? 0), 0);
  const rows = runs.flatMap((o) => {
    const w = perUnit(o.cpu!.web, o.web);
    const raw = perUnit(o.cpu!.raw, o.raw);
    const extra = (label: string, b: BaselineRun | undefined, vs: string) => {
      if (!b) return [];
      const u = perUnit(b.cpu, b.load);
      return [[label, ...names.map((n) => f(u[n] ?? NaN, 2)), f(total(u), 2), vs === "raw" ? ratio(total(u), total(raw)) : ""]];
    };
    return [
      [`order, c=${o.web.concurrency}`, ...names.map((n) => f(w[n] ?? NaN, 2)), f(total(w), 2), ratio(total(w), total(raw))],
      [`raw workflow, c=${o.raw.concurrency}`, ...names.map((n) => f(raw[n] ?? NaN, 2)), f(total(raw), 2), ""],
      ...extra(`order without durability, c=${o.web.concurrency}`, o.plain, ""),
      ...extra(`DBOS workflow, c=${o.web.concurrency}`, o.dbos, "raw"),
    ];
  });
  return [
    "\nCPU ms per order (per workflow), by process; total without the bench client; target at c=64: ≤ 5× raw. The baselines in a process of their own show it as 'baseline process':\n",
    table(["run", ...names, "total", "vs raw"], rows),
  ].join("\n");
}

function accountSection(a: OrderAccount): string {
  const types = Object.entries(a.commandTypes)
    .sort((x, y) => y[1] - x[1])
    .map(([t, n]) => `${t} ${f(n, 1)}`)
    .join(", ");
  const lines = [
    `\nOne order on the happy path, from Restate's introspection (${a.orders} orders at c=1):\n`,
    table(
      ["what", "per order", "target"],
      [
        ["journal commands of the run", f(a.commandsPerOrder, 1), `≤ 12 (${ok(a.commandsPerOrder <= 12)})`],
        ["journal notifications of the run (completions)", f(a.notificationsPerOrder, 1), ""],
        ["command types", types, ""],
        ["invocations (run, calls, sends, status reads)", f(a.invocationsPerOrder, 1), ""],
        [
          "awaited invocations besides the run",
          f(a.awaitedInvocationsPerOrder, 1),
          `≤ 2 (${ok(a.awaitedInvocationsPerOrder <= 2)})`,
        ],
      ],
    ),
    `\nWhere the ${f(a.latencyTotalMs, 1)} ms of one order go at c=1 (mean; journal append times, ms resolution):\n`,
    table(
      ["phase", "ms", "share"],
      a.latency.map((p) => [p.phase, f(p.ms, 1), `${f((100 * p.ms) / a.latencyTotalMs, 0)} %`]),
    ),
  ];
  return lines.join("\n");
}

/** Orders paid on the hosted page: the time on the page apart from the order's own. */
function checkoutSection(c: CheckoutResult): string {
  const row = (label: string, x: Summary) => [label, f(x.p50, 0), f(x.p99, 0), f(x.max, 0)];
  return [
    `\n### 1b. Orders paid on the hosted payment page (the local Stripe: its API, page and signed webhooks), concurrency ${c.load.concurrency}\n`,
    table(
      ["part of the order", "p50 ms", "p99 ms", "max ms"],
      [
        row('form POST → payment page open (the order\'s "waiting for payment" event)', c.toPage),
        row("on the page: the bench's one card submit (a person takes minutes)", c.onPage),
        row("page answered → order ended (webhook, the order's check, the rest of the order)", c.afterPayment),
        row("whole order", c.load.latency),
      ],
    ),
    `\n${c.load.completed} orders, ${f(c.load.perSecond, 1)}/s, ${c.load.errors} errors${c.load.firstError ? ` (${c.load.firstError})` : ""}; ` +
      `per order: ${f(c.stripeCallsPerOrder, 1)} calls to Stripe's API, ${f(c.webhooksPerOrder, 1)} webhook deliveries.`,
  ].join("\n");
}

/** The flash sale: the outcome of each phase, the oversell check, and the hot product's throughput against the spread one's. */
function flashSection(x: FlashResult): string {
  const { hot, spread } = x;
  const products = (p: FlashPhase) => (p.products.length === 1 ? p.products[0]!.sku : `${p.products.length} products`);
  const row = (p: FlashPhase) => [
    p.name,
    products(p),
    String(p.units),
    String(p.buyers),
    String(p.fulfilled),
    String(p.refused),
    String(p.other),
    String(p.errors),
    `${p.streamsEnded}/${p.buyers}`,
    String(p.oversold),
    f(p.minStockSeen, 0),
    f(p.soldOutSeconds, 2),
    f(p.lastFulfilledSeenSeconds, 2),
    f(p.seconds, 1),
    f(p.perSecond, 1),
    f(p.untilSoldOutPerSecond, 1),
    f(p.afterSoldOutPerSecond, 1),
    f(p.latency.p50, 0),
    f(p.latency.p99, 0),
    p.fulfilled === p.expectedFulfilled && p.oversold === 0 ? "yes" : "**NO**",
  ];
  const out = [
    `\n### 5. Flash sale: ${x.buyers} buyers, one unit each, ${x.units} units, concurrency ${x.concurrency}; form POST → the order's stream until \`done\`\n`,
    table(
      [
        "phase",
        "products",
        "units",
        "buyers",
        "fulfilled",
        "refused (sold out)",
        "other",
        "errors",
        "streams ended",
        "oversold",
        "min stock seen",
        "sold out s",
        "last unit seen s",
        "all buyers s",
        "orders/s",
        "until sold out /s",
        "after /s",
        "p50 ms",
        "p99 ms",
        "fulfilled = units, none oversold",
      ],
      [row(hot), row(spread)],
    ),
    `\nHot product ÷ spread orders/s: ${ratio(hot.perSecond, spread.perSecond)}, target ≥ 0.9× (${ok(x.ratio >= 0.9)}). ` +
      `Fulfilled = units exactly: hot ${hot.fulfilled === hot.expectedFulfilled ? "yes" : "**no**"}, spread ${
        spread.fulfilled === spread.expectedFulfilled ? "yes" : "**no**"
      }.`,
    '\nfulfilled / refused / other: by the order rows in PostgreSQL (fulfilled; rejected with "Out of stock: <the product>"; anything else); ' +
      "errors: buyers whose POST or stream failed; streams ended: buyers whose stream reached `done` (" +
      `${hot.streamDisagrees + spread.streamDisagrees} of them ended on another outcome than their order row). ` +
      "oversold: units held by the phase's reservations beyond each product's units; min stock seen: products.stock polled every 25 ms. " +
      "sold out s: first POST → the last unit's reservation row written (PostgreSQL's created_at), the moment the stock reached 0; " +
      "last unit seen s: first POST → the buyer of the last unit (by the clock) saw its fulfilled terminal event; " +
      "all buyers s: first POST → the last buyer's stream ended, over which orders/s is counted; until sold out /s and after /s: " +
      "the buyers whose stream ended before and after the stock reached 0, per second of each part. " +
      "Both phases run after a smaller sale shaped like the spread one (a fifth of the buyers and units) as a warm-up. " +
      `Restate had work left from the orders for ${f(hot.drainSeconds, 1)} s (hot) and ${f(spread.drainSeconds, 1)} s (spread) after the last stream ended; ` +
      "the next phase started once it was done.",
  ];
  const waits = (p: FlashPhase) =>
    Object.entries(p.pgWaits.byWait)
      .slice(0, 5)
      .map(([w, n]) => `${w} ${f(n, 1)}`)
      .join(", ");
  out.push(
    "\nPostgreSQL's busy backends while each phase ran (pg_stat_activity, sampled with the stock), on average, by what they waited for (CPU: not waiting):\n",
    table(
      ["phase", "samples", "busy backends", "by wait"],
      [hot, spread].map((p) => [p.name, String(p.pgWaits.samples), f(p.pgWaits.active, 1), waits(p)]),
    ),
  );
  if (hot.cpu && spread.cpu) {
    const names = Object.keys(hot.cpu);
    out.push(
      "\nCPU during each phase, % of one core:\n",
      table(
        ["phase", ...names],
        [hot, spread].map((p) => [p.name, ...names.map((n) => f(p.cpu![n] ?? NaN, 0))]),
      ),
    );
  }
  if (x.failures.length) out.push(`\n**FAILED**: ${x.failures.join("; ")}.`);
  if (x.warnings.length) out.push(`\nWarnings: ${x.warnings.join("; ")}.`);
  return out.join("\n");
}

/** The fan-outs' idle phase: every stream open, nothing published; what the quiet check costs. */
function sseIdleTable(s: NonNullable<BenchResults["sse"]>): string[] {
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
              ? `p50 ≤ 3× (${ok(web.latency.p50 / raw.latency.p50 <= 3)})`
              : web.concurrency === 64
                ? `≥ 0.25× (${ok(tput >= 0.25)})`
                : "";
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
    const based = r.orders.filter((o) => o.plain || o.dbos);
    if (based.length) {
      out.push(
        "\nBaselines in the same run: the order's work without durability (its adapters called in sequence by a plain process), and the raw 3-step workflow on DBOS Transact (in-process, checkpointed in the same PostgreSQL):\n",
      );
      out.push(
        table(
          [
            "concurrency",
            "plain orders/s",
            "plain p50 ms",
            "durable vs plain",
            "target",
            "DBOS wf/s",
            "DBOS p50 ms",
            "Restate raw vs DBOS",
          ],
          based.map((o) => [
            String(o.web.concurrency),
            f(o.plain?.load.perSecond ?? NaN),
            f(o.plain?.load.latency.p50 ?? NaN),
            ratio(o.web.perSecond, o.plain?.load.perSecond ?? NaN),
            o.plain ? `≥ 0.5× (${ok(o.web.perSecond / o.plain.load.perSecond >= 0.5)})` : "",
            f(o.dbos?.load.perSecond ?? NaN),
            f(o.dbos?.load.latency.p50 ?? NaN),
            ratio(o.raw.perSecond, o.dbos?.load.perSecond ?? NaN),
          ]),
        ),
      );
    }
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
    if (withCpu.length) out.push(cpuPerUnit(withCpu));
    if (r.orderAccount) out.push(accountSection(r.orderAccount));
    if (r.orderWork)
      out.push(
        `\nPer order at concurrency 1 (${r.orderWork.orders} orders, counted on the servers, the order's POST and SSE stream included): ` +
          `${f(r.orderWork.postgresTransactions, 1)} PostgreSQL transactions, ${f(r.orderWork.valkeyCommands, 1)} Valkey commands ` +
          `(those run inside the publish script included); a finished order's progress stream holds ${f(r.orderWork.streamBytes, 0)} bytes in Valkey.`,
      );
    const errs = r.orders.flatMap(({ web, raw }) => [web, raw]).filter((l) => l.errors > 0);
    if (errs.length)
      out.push(`\nErrors: ${errs.map((l) => `c=${l.concurrency}: ${l.errors} (${l.firstError ?? ""})`).join("; ")}`);
  }
  if (r.checkout) out.push(checkoutSection(r.checkout));
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
            `target ≥ 0.5× (${ok(web.perSecond / raw.perSecond >= 0.5)})`,
            ...(cpu ? Object.keys(cpu.web).map(() => "") : []),
          ],
        ],
      ),
    );
    // % of a core / accepted per second = CPU ms per POST.
    if (cpu?.web.web !== undefined && web.perSecond > 0)
      out.push(`\nThe web's CPU per accepted POST: ${f((10 * cpu.web.web) / web.perSecond, 2)} ms.`);
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
      f(x.marginalRssPerConnectionKb),
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
    if (s.large) rows.push(row("shared subscriber (large)", s.large, ""));
    if (s.quietOff) rows.push(row("shared, quiet check off", s.quietOff, ""));
    if (s.cluster) rows.push(row("shared, Valkey Cluster (3 primaries)", s.cluster, ""));
    if (s.largeNotRun)
      rows.push(["shared subscriber (large)", String(s.largeNotRun.clients), ...Array(12).fill(""), s.largeNotRun.reason]);
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
        ratio(s.naive.marginalRssPerConnectionKb, base.marginalRssPerConnectionKb),
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
          "margin KB/conn",
          "web CPU %",
          "Valkey conns",
          "connect s",
          "target",
        ],
        rows,
      ),
    );
    out.push(
      "\nRSS KB/conn: the web's growth from idle to every client connected and the events published, per client. " +
        "margin KB/conn: its growth over the second half of the clients, per client (what one more connection costs, " +
        "without what the first burst of load costs once).",
    );
    out.push(...sseIdleTable(s));
  }
  if (r.storm) {
    const s = r.storm;
    out.push(
      "\n### 3b. SSE reconnect storm: the web restarted under open streams, every client back within 1 s with its Last-Event-ID\n",
    );
    out.push(
      table(
        [
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
        ],
        [
          [
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
            `all back ≤ 10 s (${ok(s.caughtUp === s.clients && s.stormSeconds <= 10)}), calls ≤ 1 % (${ok(s.restateCalls <= s.clients / 100)})`,
          ],
        ],
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
  if (r.flash) out.push(flashSection(r.flash));
  if (r.totalSeconds !== undefined) out.push(`\nTotal bench time: ${f(r.totalSeconds, 0)} s.`);
  return out.join("\n");
}
