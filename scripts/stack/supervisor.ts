/**
 * Keeps one app process (worker or web) of the dev stack running: when it exits, it is started
 * again after a short backoff and the rest of the stack stays up. A process that keeps failing
 * soon after it starts is given up on, with a message that says so and what to do.
 */
import type { Logger } from "../../shared/logger.ts";
import type { Managed } from "./processes.ts";

export interface RestartPolicy {
  /** Wait before the first restart; doubled for each failure in a row, up to `maxDelayMs`. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** A run shorter than this (or a start that fails) counts as a failure in a row. */
  stableAfterMs: number;
  /** Failures in a row before giving up. */
  maxFailures: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  initialDelayMs: 500,
  maxDelayMs: 8_000,
  stableAfterMs: 10_000,
  maxFailures: 5,
};

/** The next step after an exit: start again after `delayMs`, or give up. Pure. */
export function nextRestart(
  failuresInARow: number,
  policy: RestartPolicy = DEFAULT_RESTART_POLICY,
): { action: "restart"; delayMs: number } | { action: "give-up" } {
  if (failuresInARow >= policy.maxFailures) return { action: "give-up" };
  const delayMs = Math.min(policy.initialDelayMs * 2 ** Math.max(0, failuresInARow - 1), policy.maxDelayMs);
  return { action: "restart", delayMs };
}

export interface Supervised {
  readonly name: string;
  /** The running process, if any. */
  current(): Managed | null;
  /** Stops restarting and stops the process. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts `start()` and keeps it running. The first start's failure is thrown (the stack is not up);
 * later ones are retried like exits.
 */
export async function supervise(opts: {
  name: string;
  start: () => Promise<Managed>;
  logger: Logger;
  policy?: RestartPolicy;
  /** Told of every (re)start, e.g. to print the new pid. */
  onStart?: (proc: Managed, restarts: number) => void;
}): Promise<Supervised> {
  const policy = opts.policy ?? DEFAULT_RESTART_POLICY;
  let proc: Managed | null = await opts.start();
  let stopped = false;
  let restarts = 0;
  let failures = 0;
  let wake: (() => void) | null = null;
  let starting: Promise<Managed> | null = null;
  opts.onStart?.(proc, restarts);

  const watch = async (p: Managed, startedAt: number): Promise<void> => {
    const code = await p.exited;
    if (stopped) return;
    proc = null;
    const how = p.child.signalCode ? `was killed (${p.child.signalCode})` : `exited (code ${code})`;
    failures = performance.now() - startedAt < policy.stableAfterMs ? failures + 1 : 1;
    let problem = `${opts.name} ${how}`;
    for (;;) {
      const next = nextRestart(failures, policy);
      if (next.action === "give-up") {
        opts.logger.error(
          `${opts.name} keeps failing: ${failures} failed starts or early exits in a row (the last: ${problem}). ` +
            "Not restarting it; the rest of the stack stays up. Read its output above, fix the cause, then run " +
            `\`npm run ${opts.name}\` in another terminal, or restart \`npm run dev\`.`,
        );
        return;
      }
      opts.logger.warn(`${problem}; starting it again in ${(next.delayMs / 1000).toFixed(1)} s`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, next.delayMs);
        wake = () => (clearTimeout(timer), resolve());
      });
      wake = null;
      if (stopped) return;
      const at = performance.now();
      try {
        starting = opts.start();
        const started = await starting.finally(() => (starting = null));
        if (stopped) return void (await started.stop());
        proc = started;
        restarts++;
        opts.onStart?.(started, restarts);
        return watch(started, at);
      } catch (err) {
        if (stopped) return;
        failures++;
        problem = `${opts.name} did not start (${err instanceof Error ? err.message : String(err)})`;
      }
    }
  };
  void watch(proc, performance.now());

  return {
    name: opts.name,
    current: () => proc,
    async stop(graceMs = 10_000) {
      stopped = true;
      wake?.();
      await Promise.all([proc?.stop(graceMs), starting?.then((p) => p.stop(graceMs)).catch(() => undefined)]);
    },
  };
}
