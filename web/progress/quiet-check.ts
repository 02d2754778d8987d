/**
 * The check that keeps a page from being stranded. Live delivery can lose events for good: the
 * worker drops what it cannot publish while Valkey is away and keeps it in memory for a second
 * delivery, so a worker that dies meanwhile takes the events with it; a subscriber that Valkey
 * lost (a failover) hears nothing until it is placed again. Either way an open stream would wait
 * for its maximum duration. So a stream that has heard nothing for `quietMs` while its resource
 * is not finished asks for the stored state (the order's row), and when it is ahead of what the
 * page shows, the stream sends what it missed (docs/design.md, "No stranded page").
 *
 * It must not become a poll storm at 10,000 idle streams: one timer for the process, each stream
 * due at its own moment (spread over half a period), streams that heard something are not due,
 * and the streams due in one tick are read together, `batchSize` ids per round trip, at most
 * `maxPerTick` per tick. A tick that is still reading makes the next one wait.
 */
import type { Logger } from "../../shared/logger.ts";
import type { ProgressSnapshot } from "../../shared/progress-event.ts";

/** A kind of resource whose stored state can be read for many at once. */
export interface QuietCheckedKind {
  kind: string;
  /** The stored state of each resource that has one, read together (one round trip). */
  storedStates(ids: string[]): Promise<Map<string, ProgressSnapshot>>;
}

/** An open stream the check watches. */
export interface QuietWatched {
  readonly id: string;
  readonly quietKind: QuietCheckedKind;
  /** When the stream is next due for a check (set by the check; kept on the stream, no map beside it). */
  quietDueAt: number;
  /** The stored state, read because the stream was quiet. */
  onStoredState(stored: ProgressSnapshot): void;
}

export interface QuietCheckOptions {
  /** How long a stream may hear nothing before it checks; each check is due again this long (to 1.5x) later. */
  quietMs: number;
  logger: Logger;
  /** Ids per stored-state read. */
  batchSize?: number;
  /** The most streams one tick checks; the others are due in a later tick. */
  maxPerTick?: number;
  metrics?: { quietChecked(n: number): void } | undefined;
}

export function createQuietCheck(opts: QuietCheckOptions) {
  const batchSize = opts.batchSize ?? 500;
  const maxPerTick = opts.maxPerTick ?? 5_000;
  const tickMs = Math.max(50, Math.min(1_000, Math.floor(opts.quietMs / 4)));
  const watched = new Set<QuietWatched>();
  let timer: NodeJS.Timeout | null = null;
  let reading = false;

  const nextDue = (now: number) => now + opts.quietMs * (1 + Math.random() * 0.5);

  function watch(s: QuietWatched): void {
    s.quietDueAt = nextDue(Date.now());
    watched.add(s);
    if (!timer) {
      timer = setInterval(() => void tick(), tickMs);
      timer.unref();
    }
  }

  /** The stream heard something: it is not due until it has been quiet a whole period again. */
  function heard(s: QuietWatched): void {
    s.quietDueAt = nextDue(Date.now());
  }

  function forget(s: QuietWatched): void {
    if (!watched.delete(s) || watched.size > 0 || !timer) return;
    clearInterval(timer);
    timer = null;
  }

  async function tick(): Promise<void> {
    if (reading) return;
    reading = true;
    try {
      const now = Date.now();
      const due = new Map<string, { kind: QuietCheckedKind; streams: QuietWatched[] }>();
      let count = 0;
      for (const s of watched) {
        if (s.quietDueAt > now) continue;
        if (count++ >= maxPerTick) break;
        s.quietDueAt = nextDue(now);
        const group = due.get(s.quietKind.kind);
        if (group) group.streams.push(s);
        else due.set(s.quietKind.kind, { kind: s.quietKind, streams: [s] });
      }
      for (const { kind, streams } of due.values()) {
        for (let i = 0; i < streams.length; i += batchSize) await checkBatch(kind, streams.slice(i, i + batchSize));
      }
    } finally {
      reading = false;
    }
  }

  async function checkBatch(kind: QuietCheckedKind, streams: QuietWatched[]): Promise<void> {
    let states: Map<string, ProgressSnapshot>;
    try {
      // One id once, however many streams follow it.
      states = await kind.storedStates([...new Set(streams.map((s) => s.id))]);
    } catch (err) {
      opts.logger.debug({ err, kind: kind.kind, streams: streams.length }, "quiet check could not read the stored state");
      return;
    }
    opts.metrics?.quietChecked(streams.length);
    for (const s of streams) {
      const stored = states.get(s.id);
      if (!stored || !watched.has(s)) continue;
      try {
        s.onStoredState(stored);
      } catch (err) {
        opts.logger.warn({ err, kind: kind.kind }, "a quiet stream failed to catch up");
      }
    }
  }

  return {
    watch,
    heard,
    forget,
    /** Checks whatever is due now (tests). */
    tick,
    get size() {
      return watched.size;
    },
  };
}
export type QuietCheck = ReturnType<typeof createQuietCheck>;
