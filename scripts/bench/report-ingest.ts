/** Report section 2: accepted form POSTs against raw workflow submits, with the workers running and with them stopped. */
import type { BenchResults, IngestResult } from "./bench-results.ts";
import { f, ok, ratio, table } from "./report-format.ts";

export function ingestSections(r: BenchResults): string[] {
  return [
    ...(r.ingest ? ingestSection(r.ingest, "workers running: the accepted orders execute meanwhile") : []),
    ...(r.ingestOnly ? ingestSection(r.ingestOnly, "worker and raw endpoint stopped: the ingest paths only") : []),
  ];
}

function ingestSection({ web, raw, cpu }: IngestResult, title: string): string[] {
  const out = [
    `\n### 2. Form ingest (${title}): accepted POST /orders per second vs raw workflow submit, concurrency ${web.concurrency}\n`,
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
  ];
  // % of a core / accepted per second = CPU ms per POST.
  if (cpu?.web.web !== undefined && web.perSecond > 0)
    out.push(`\nThe web's CPU per accepted POST: ${f((10 * cpu.web.web) / web.perSecond, 2)} ms.`);
  return out;
}
