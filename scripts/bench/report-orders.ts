/** Report sections 1 and 1b: the order pipeline against its same-run baselines, what one order costs, and paid orders. */
import type { BaselineRun, BenchResults, OrdersRun } from "./bench-results.ts";
import type { CheckoutResult } from "./checkout.scenario.ts";
import type { OrderAccount } from "./order-account.ts";
import { f, ok, ratio, table } from "./report-format.ts";
import type { LoadResult, Summary } from "./stats.ts";
import type { WorkPerOrder } from "./work-count.ts";

/** Section 1: every table and note of the orders scenario, in the report's order. */
export function ordersSection(r: BenchResults, orders: OrdersRun[]): string[] {
  const withCpu = orders.filter((o) => o.cpu);
  return [
    ...pipelineTable(orders),
    ...baselinesTable(orders.filter((o) => o.plain || o.dbos)),
    ...(withCpu.length ? [...cpuTable(withCpu), cpuPerUnit(withCpu)] : []),
    ...(r.orderAccount ? accountSection(r.orderAccount) : []),
    ...(r.orderWork ? [orderWorkNote(r.orderWork)] : []),
    ...errorsNote(orders),
  ];
}

function pipelineTable(orders: OrdersRun[]): string[] {
  const row = ({ web, raw }: OrdersRun) => {
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
  };
  const head = [
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
  ];
  return [
    "\n### 1. Order pipeline: form POST → terminal event on the order's SSE stream, vs raw Restate 3-step no-op workflow (submit + result)\n",
    table(head, orders.map(row)),
  ];
}

/** The work without durability and DBOS, for the runs that had them. */
function baselinesTable(based: OrdersRun[]): string[] {
  if (!based.length) return [];
  const head = [
    "concurrency",
    "plain orders/s",
    "plain p50 ms",
    "durable vs plain",
    "target",
    "DBOS wf/s",
    "DBOS p50 ms",
    "Restate raw vs DBOS",
  ];
  const rows = based.map((o) => [
    String(o.web.concurrency),
    f(o.plain?.load.perSecond ?? NaN),
    f(o.plain?.load.latency.p50 ?? NaN),
    ratio(o.web.perSecond, o.plain?.load.perSecond ?? NaN),
    o.plain ? `≥ 0.5× (${ok(o.web.perSecond / o.plain.load.perSecond >= 0.5)})` : "",
    f(o.dbos?.load.perSecond ?? NaN),
    f(o.dbos?.load.latency.p50 ?? NaN),
    ratio(o.raw.perSecond, o.dbos?.load.perSecond ?? NaN),
  ]);
  return [
    "\nBaselines in the same run: the order's work without durability (its adapters called in sequence by a plain process), and the raw 3-step workflow on DBOS Transact (in-process, checkpointed in the same PostgreSQL):\n",
    table(head, rows),
  ];
}

function cpuTable(withCpu: OrdersRun[]): string[] {
  const names = Object.keys(withCpu[0]!.cpu!.web);
  return [
    "\nCPU during each run, % of one core (2 cores in all):\n",
    table(
      ["run", ...names],
      withCpu.flatMap((o) => [
        [`orders c=${o.web.concurrency}`, ...names.map((n) => f(o.cpu!.web[n] ?? NaN, 0))],
        [`raw c=${o.raw.concurrency}`, ...names.map((n) => f(o.cpu!.raw[n] ?? NaN, 0))],
      ]),
    ),
  ];
}

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

function accountSection(a: OrderAccount): string[] {
  const types = Object.entries(a.commandTypes)
    .sort((x, y) => y[1] - x[1])
    .map(([t, n]) => `${t} ${f(n, 1)}`)
    .join(", ");
  return [
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
      a.latency.map((p) =>
        p.afterDone
          ? [`after the browser saw done: ${p.phase}`, f(p.ms, 1), "not in the latency"]
          : [p.phase, f(p.ms, 1), `${f((100 * p.ms) / a.latencyTotalMs, 0)} %`],
      ),
    ),
  ];
}

function orderWorkNote(w: WorkPerOrder): string {
  return (
    `\nPer order at concurrency 1 (${w.orders} orders, counted on the servers, the order's POST and SSE stream included): ` +
    `${f(w.postgresTransactions, 1)} PostgreSQL transactions, ${f(w.valkeyCommands, 1)} Valkey commands ` +
    `(those run inside the publish script included); a finished order's progress stream holds ${f(w.streamBytes, 0)} bytes in Valkey.`
  );
}

function errorsNote(orders: OrdersRun[]): string[] {
  const errs = orders.flatMap(({ web, raw }) => [web, raw]).filter((l) => l.errors > 0);
  if (!errs.length) return [];
  return [`\nErrors: ${errs.map((l) => `c=${l.concurrency}: ${l.errors} (${l.firstError ?? ""})`).join("; ")}`];
}

/** Section 1b, orders paid on the hosted page: the time on the page apart from the order's own. */
export function checkoutSection(c: CheckoutResult): string[] {
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
  ];
}
