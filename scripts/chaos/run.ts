/**
 * `npm run chaos [-- --orders 1000 --concurrency 100 --kills 12 --valkey-outage-ms 10000 --payments local|stripe --soak]`: the
 * chaos run with its figure table. Exits 1 when any invariant is violated.
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "../stack/stack.ts";
import { runChaos } from "./chaos.ts";
import { formatFigures } from "./invariants.ts";

const { values } = parseArgs({
  options: {
    orders: { type: "string", default: "1000" },
    concurrency: { type: "string", default: "100" },
    kills: { type: "string", default: "12" },
    "valkey-outage-ms": { type: "string", default: "10000" },
    payments: { type: "string", default: "local" },
    soak: { type: "boolean", default: false },
  },
});
const int = (name: string, raw: string | undefined, min: number) => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be a whole number of at least ${min}`);
    process.exit(2);
  }
  return n;
};
const orders = int("orders", values.orders, 1);
if (values.payments !== "local" && values.payments !== "stripe") {
  console.error("--payments must be local or stripe");
  process.exit(2);
}
const payments = values.payments;
const logDir = path.join(ROOT, "test-results", "chaos-run");
console.log(`chaos: ${orders} orders, ${payments} payments; logs in ${path.relative(process.cwd(), logDir) || "."}`);
const report = await runChaos({
  orders,
  concurrency: int("concurrency", values.concurrency, 1),
  workerKills: int("kills", values.kills, 0),
  valkeyOutageMs: int("valkey-outage-ms", values["valkey-outage-ms"], 0),
  payments,
  soak: values.soak === true,
  shopperDeadlineMs: 10 * 60_000,
  logDir,
  log: (line) => console.log(line),
});
for (const e of report.timeline.filter((x) => x.what.startsWith("email re-sent"))) console.log(`  ${e.what}`);
console.log(`\n${formatFigures(report.figures)}\n`);
if (report.soak) {
  const pct = (g: number) => (Number.isFinite(g) ? `${g >= 0 ? "+" : ""}${g.toFixed(1)} %` : "–");
  console.log(
    `soak: ${report.soak.samples} samples; after the warm-up web RSS ${pct(report.soak.webGrowthPct)}, ` +
      `Valkey memory ${pct(report.soak.valkeyGrowthPct)} (per live key ${pct(report.soak.valkeyPerKeyGrowthPct)}; ` +
      `${report.soak.keysWithoutExpiry} keys without expiry), worker RSS (largest, one process) ${pct(report.soak.workerGrowthPct)}; ` +
      `${report.soak.progressStreams} progress streams, ${report.soak.streamsWithoutExpiry} without expiry, longest ${report.soak.longestStream} events\n` +
      `Valkey ${report.soak.valkeyDetail}\n`,
  );
}
console.log(`finished in ${(report.durationMs / 1000).toFixed(1)} s`);
if (report.violations.length > 0) {
  console.error(`\n${report.violations.length} invariant(s) violated:\n  ${report.violations.join("\n  ")}`);
  process.exit(1);
}
console.log("every invariant held");
