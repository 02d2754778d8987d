/**
 * Prometheus metrics of the web's SSE streams, registered on the registry the caller passes in
 * (the process registry, or a separate one merged into it). No ids as labels: only bounded values.
 */
import { Counter, Gauge, type Registry } from "prom-client";

export type SseRefusal = "session" | "ip";

export function createSseMetrics(registry: Registry) {
  const registers = [registry];
  const open = new Gauge({
    name: "quayside_sse_open_connections",
    help: "SSE streams open on this web process",
    registers,
  });
  const delivered = new Counter({
    name: "quayside_sse_events_delivered_total",
    help: "Progress events written to SSE clients (one per client per event)",
    registers,
  });
  const replays = new Counter({
    name: "quayside_sse_replays_total",
    help: "Reconnecting SSE clients (Last-Event-ID) served the events they missed from the stream",
    registers,
  });
  const slowCloses = new Counter({
    name: "quayside_sse_slow_closes_total",
    help: "SSE streams closed because the client did not read fast enough (buffer limit passed)",
    registers,
  });
  const quietChecks = new Counter({
    name: "quayside_sse_quiet_checks_total",
    help: "Stored states read for SSE streams that heard nothing for a while (quiet-check.ts)",
    registers,
  });
  const quietRecoveries = new Counter({
    name: "quayside_sse_quiet_recoveries_total",
    help: "Quiet SSE streams that were behind their stored state and were sent it",
    registers,
  });
  const refused = new Counter({
    name: "quayside_sse_refused_total",
    help: "SSE streams refused with 429 by the per-session or per-address limit",
    labelNames: ["limit"] as const,
    registers,
  });

  return {
    opened: () => open.inc(),
    closed: () => open.dec(),
    delivered: (n = 1) => delivered.inc(n),
    replayed: () => replays.inc(),
    closedForSlowness: () => slowCloses.inc(),
    refused: (limit: SseRefusal) => refused.inc({ limit }),
    quietChecked: (n: number) => quietChecks.inc(n),
    quietRecovered: () => quietRecoveries.inc(),
  };
}
export type SseMetrics = ReturnType<typeof createSseMetrics>;
