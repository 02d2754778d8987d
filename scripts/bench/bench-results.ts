/** What one `npm run bench` measured: run.ts fills it, report.ts renders it, bench-results/*.json keep it. */
import type { CheckoutResult } from "./checkout.scenario.ts";
import type { FlashResult } from "./flash-sale.scenario.ts";
import type { OrderAccount } from "./order-account.ts";
import type { WorkPerOrder } from "./work-count.ts";
import type { FanoutResult } from "./sse-fanout.scenario.ts";
import type { StormResult } from "./sse-storm.scenario.ts";
import type { StartupResult } from "./startup.scenario.ts";
import type { LoadResult } from "./stats.ts";

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

export interface OrdersRun {
  web: LoadResult;
  raw: LoadResult;
  cpu?: { web: Record<string, number>; raw: Record<string, number> };
  /** The same work without durability: the order's adapters called in sequence by a plain process. */
  plain?: BaselineRun;
  /** The raw 3-step workflow on DBOS Transact. */
  dbos?: BaselineRun;
}

export interface SseResults {
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
}

export interface BenchResults {
  machine: Record<string, string | number>;
  settings: Record<string, string | number>;
  orders?: OrdersRun[];
  /** Journal entries, invocations and the latency breakdown of one order (concurrency 1). */
  orderAccount?: OrderAccount;
  /** PostgreSQL transactions and Valkey commands per order at concurrency 1, counted. */
  orderWork?: WorkPerOrder;
  ingest?: IngestResult;
  /** Ingest with the worker and the raw endpoint stopped: only the ingest paths. */
  ingestOnly?: IngestResult;
  sse?: SseResults;
  storm?: StormResult;
  /** Orders paid on the hosted payment page (scenario 1b). */
  checkout?: CheckoutResult;
  startup?: StartupResult;
  /** One product with fewer units than buyers, beside the same sale spread over several products (scenario 5). */
  flash?: FlashResult;
  startedAt: string;
  totalSeconds?: number;
}
