/**
 * The operators' feed's check against PostgreSQL. Live delivery can lose an order feed message
 * with no gap to report: a plain PUBLISH on a Valkey Cluster crosses the cluster bus, and one sent
 * just as a primary fails over can vanish; a worker that dies holding dropped events never
 * re-sends them. Nothing else would bring such an order's row up to date on an operator's page.
 *
 * So while an operator watches, the feed asks PostgreSQL every `everyMs` which orders were written
 * since its last check (ids and write times only: one narrow query per web process, on
 * orders_updated_at_idx), and hands on those whose last write it has not sent. It remembers the
 * write time of every row it sent, for as long as a check could still return that row, so in
 * steady state, when live delivery lost nothing, a check finds nothing to re-read.
 */
import type { OpsLiveRepo, OrderMove } from "../adapters/ops-live.repo.ts";

export interface FeedCheckDeps {
  live: Pick<OpsLiveRepo, "movedSince">;
  /** How often it checks while started; 0 turns the check off. */
  everyMs: number;
  /**
   * How far each check looks back past the previous one: a write whose transaction began before a
   * check's read (its updated_at is older) but committed after it is found by the next.
   */
  overlapMs?: number;
}

export interface FeedCheck {
  /** Checks now and every `everyMs` through `run`, which must serialise the check with the feed's reads. */
  start(run: () => void): void;
  /** Stops checking and forgets what was sent (a later start begins afresh). */
  stop(): void;
  /** Remembers rows the feed sent, so a check does not re-read them. */
  noteSent(rows: readonly OrderMove[]): void;
  /** One check: the ids of orders written since the last one whose last write was not sent. */
  check(): Promise<string[]>;
}

export function createFeedCheck(deps: FeedCheckDeps): FeedCheck {
  const overlapUs = (deps.overlapMs ?? 2_000) * 1_000;
  /** The write time of each row sent, while a check can still return it. */
  const sent = new Map<string, number>();
  let sinceUs: number | null = null;
  let timer: NodeJS.Timeout | null = null;

  return {
    start(run) {
      if (timer || deps.everyMs <= 0) return;
      timer = setInterval(run, deps.everyMs);
      timer.unref();
      run();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
      sent.clear();
      sinceUs = null;
    },
    noteSent(rows) {
      if (!timer) return;
      for (const r of rows) if ((sent.get(r.id) ?? -1) < r.updatedUs) sent.set(r.id, r.updatedUs);
    },
    async check() {
      // The first check only sets where the next starts: what was written before, the page that
      // opened the stream has just read from PostgreSQL.
      const first = sinceUs === null;
      const { moves, readUs } = await deps.live.movedSince(sinceUs);
      const missed = first ? [] : moves.filter((m) => (sent.get(m.id) ?? -1) < m.updatedUs).map((m) => m.id);
      sinceUs = readUs - overlapUs;
      // Rows written before the next check's start are never returned again.
      for (const [id, us] of sent) if (us < sinceUs) sent.delete(id);
      return missed;
    },
  };
}
