/** Percentiles and closed-loop load for the bench. */

export interface Summary {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

export function summarize(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
  return { n: sorted.length, p50: at(50), p99: at(99), max: sorted.at(-1) ?? NaN };
}

export interface LoadResult {
  concurrency: number;
  seconds: number;
  completed: number;
  errors: number;
  perSecond: number;
  latency: Summary;
  firstError?: string;
}

/**
 * `concurrency` virtual users each run `op` back to back for `durationMs`; `op` returns its own
 * latency in ms (or null to count it as done without a sample).
 */
export async function closedLoop(
  concurrency: number,
  durationMs: number,
  op: (vu: number) => Promise<number | null>,
): Promise<LoadResult> {
  const latencies: number[] = [];
  let completed = 0;
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const deadline = started + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, vu) => {
      while (performance.now() < deadline) {
        try {
          const ms = await op(vu);
          completed++;
          if (ms !== null) latencies.push(ms);
        } catch (err) {
          errors++;
          firstError ??= err instanceof Error ? err.message : String(err);
          if (errors > 50 && completed === 0) throw err;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return {
    concurrency,
    seconds,
    completed,
    errors,
    perSecond: completed / seconds,
    latency: summarize(latencies),
    ...(firstError ? { firstError } : {}),
  };
}
