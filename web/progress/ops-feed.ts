/**
 * Operators' live view of the shop, one per web process: while at least one operator stream is
 * open it listens to the order feed (every order's events through one subscription, see
 * progress-hub.ts) and turns events into fragments that all operator streams share:
 *
 * - each changed order's row, read by primary key in batches (one query per `batchMs`);
 * - the newest orders (the list's first page), when an order is placed;
 * - the approvals list, when an order enters or leaves awaiting_approval (rendered per stream,
 *   since its forms carry the viewer's CSRF token; read once);
 * - the overview, recomputed at most every `overviewEveryMs` however many orders move, and every
 *   minute regardless, so the hour's window slides.
 *
 * Nothing is replayed: every (re)connecting stream is first sent the approvals, the overview and
 * the newest orders from PostgreSQL, which include whatever it missed. A gap in live delivery
 * (Valkey's connection came back) therefore ends every stream with a `retry:` hint; without Valkey
 * a stream gets those fragments and the hint, so the browser polls by reconnecting until live
 * delivery is back. A message lost with no gap to tell of it is found by the feed's check against
 * PostgreSQL (ops-feed-check.ts): every few seconds, the orders written since the last check whose
 * rows were not sent are read and sent like any that moved.
 */
import type { Logger } from "../../shared/logger.ts";
import { orderIdSchema } from "../../shared/order.schema.ts";
import type { OrderFeedMessage } from "../../shared/progress-event.ts";
import type { OpsLiveRepo, OpsOrderRow } from "../adapters/ops-live.repo.ts";
import type { OpsOverviewRepo } from "../adapters/ops-overview.repo.ts";
import { opsApprovals, opsNewestRows, opsOrderRow, orderRowEvent } from "../views/ops-live.view.ts";
import { opsOverviewSection } from "../views/ops-overview.view.ts";
import { createFeedCheck } from "./ops-feed-check.ts";
import type { OrderFeedSubscriber, ProgressHub } from "./progress-hub.ts";
import type { SseFields, SseStream } from "./sse-response.ts";

export const opsTopics = ["overview", "approvals", "orders"] as const;
export type OpsTopic = (typeof opsTopics)[number];

export interface OpsViewer {
  csrfToken: string;
  /** What the page shows: the others are not sent to it. */
  topics: ReadonlySet<OpsTopic>;
}

export interface OpsFeedDeps {
  hub: ProgressHub;
  live: OpsLiveRepo;
  overview: OpsOverviewRepo;
  logger: Logger;
  restateUiUrl: string | undefined;
  /** How long the browser waits before reconnecting when a stream ends to resync. */
  retryMs?: number;
  /** Changed orders are collected this long, then read in one query. */
  batchMs?: number;
  overviewEveryMs?: number;
  /** The size of the list's first page (the dashboard's). */
  newestLimit?: number;
  /** How often the feed checks PostgreSQL for orders whose messages it missed (0: never). */
  checkEveryMs?: number;
}

/** Steps after which an order is no longer awaiting approval (besides the list's own ids). */
const DECISION_STEPS = new Set(["awaiting_approval", "approved", "rejected", "cancelled", "failed"]);
const PLACED_STEPS = new Set(["received", "persisted"]);
const APPROVALS_LIMIT = 200;

/** The parts a page replaces whole; each stream remembers the read its shown copy came from. */
type WholePart = "overview" | "approvals" | "newest";

interface OpsStream extends OpsViewer {
  sse: SseStream;
  /** The number of the read behind each part last sent: an older read (it started earlier) is not sent over it. */
  shown: Record<WholePart, number>;
}

export function createOpsFeed(deps: OpsFeedDeps) {
  const retryMs = deps.retryMs ?? 3_000;
  const batchMs = deps.batchMs ?? 100;
  const overviewEveryMs = deps.overviewEveryMs ?? 2_000;
  const newestLimit = deps.newestLimit ?? 100;
  const url = deps.restateUiUrl;
  const streams = new Set<OpsStream>();
  const feedCheck = createFeedCheck({ live: deps.live, everyMs: deps.checkEveryMs ?? 5_000 });
  let subscription: Promise<void> | null = null;

  const changed = new Set<string>();
  let [newestDirty, approvalsDirty, overviewDirty] = [false, false, false];
  /**
   * The ids the last first-page read returned: an event for one of them sends the first page again.
   * Its rows follow their orders by their own events too, but a row the page has just added may
   * not listen yet when its next event comes (an order that is placed and finished within one
   * batch or two), and would keep its first status for good.
   */
  let onFirstPage = new Set<string>();
  /** The ids the last approvals read returned: an event for one of them may take it off the list. */
  let awaiting = new Set<string>();
  let batchTimer: NodeJS.Timeout | null = null;
  /** Batches are read one after another, so an older read never lands after a newer one. */
  let flushes: Promise<void> = Promise.resolve();
  let overviewTimer: NodeJS.Timeout | null = null;
  let minuteTimer: NodeJS.Timeout | null = null;
  /** When the overview was last read for the broadcast: the next waits `overviewEveryMs` after it. */
  let overviewReadAt = 0;
  /** Reads are numbered as they start: a stream's own newer copy is not replaced by an older read. */
  let reads = 0;

  const wanted = (topic: OpsTopic) => [...streams].some((s) => s.topics.has(topic));

  function broadcast(topic: OpsTopic, frame: SseFields): void {
    for (const s of streams) if (s.topics.has(topic)) s.sse.send(frame);
  }

  /** Sends a whole part to one stream unless it already shows a copy from a newer read. */
  function sendPart(s: OpsStream, part: WholePart, read: number, frame: SseFields): void {
    if (read <= s.shown[part]) return;
    s.shown[part] = read;
    s.sse.send(frame);
  }

  function sendPartToAll(topic: OpsTopic, part: WholePart, read: number, frame: (s: OpsStream) => SseFields): void {
    for (const s of streams) if (s.topics.has(topic)) sendPart(s, part, read, frame(s));
  }

  function resyncAll(): void {
    for (const s of [...streams]) s.sse.endWithRetry(retryMs, "resync");
  }

  async function loadApprovals(): Promise<OpsOrderRow[]> {
    const pending = await deps.live.awaitingApproval(APPROVALS_LIMIT);
    awaiting = new Set(pending.map((o) => o.id));
    return pending;
  }

  const approvalsFrame = (pending: readonly OpsOrderRow[], s: OpsStream): SseFields => ({
    event: "approvals",
    data: opsApprovals(pending, s.csrfToken, url).value,
  });

  async function flush(): Promise<void> {
    batchTimer = null;
    const ids = [...changed];
    changed.clear();
    const newest = newestDirty && wanted("orders");
    const approvals = approvalsDirty && wanted("approvals");
    newestDirty = approvalsDirty = false;
    const read = ++reads;
    try {
      const [rows, first, pending] = await Promise.all([
        deps.live.byIds(ids),
        newest ? deps.live.newest(newestLimit) : null,
        approvals ? loadApprovals() : null,
      ]);
      // The first page first: an order it adds gets its row there before that row's own update is
      // sent. The other way round, the update found no row yet and was lost, and the page kept the
      // row as the (separately read, possibly older) first page had it: "shipped" for good.
      if (first) {
        onFirstPage = new Set(first.map((o) => o.id));
        feedCheck.noteSent(first);
        const frame = { event: "orders-newest", data: opsNewestRows(first, url).value };
        sendPartToAll("orders", "newest", read, () => frame);
      }
      for (const o of rows) broadcast("orders", { event: orderRowEvent(o.id), data: opsOrderRow(o, url).value });
      feedCheck.noteSent(rows);
      if (pending) sendPartToAll("approvals", "approvals", read, (s) => approvalsFrame(pending, s));
    } catch (err) {
      // The browsers reconnect and get everything re-read from PostgreSQL.
      deps.logger.warn({ err }, "could not read the orders that moved; operator streams will resync");
      resyncAll();
    }
  }

  function scheduleOverview(): void {
    if (overviewTimer || !overviewDirty || !wanted("overview")) return;
    const wait = Math.max(0, overviewReadAt + overviewEveryMs - Date.now());
    overviewTimer = setTimeout(() => void refreshOverview(), wait);
    overviewTimer.unref();
  }

  async function refreshOverview(): Promise<void> {
    overviewDirty = false;
    try {
      const read = ++reads;
      overviewReadAt = Date.now();
      const frame = { event: "overview", data: opsOverviewSection(await deps.overview.overview()).value };
      sendPartToAll("overview", "overview", read, () => frame);
    } catch (err) {
      deps.logger.warn({ err }, "could not read the overview; operator streams will resync");
      resyncAll();
    } finally {
      overviewTimer = null;
    }
    scheduleOverview();
  }

  function scheduleFlush(): void {
    if (!batchTimer) {
      batchTimer = setTimeout(() => {
        flushes = flushes.then(flush);
      }, batchMs);
      batchTimer.unref();
    }
    scheduleOverview();
  }

  /** Reads the orders whose messages the feed missed, in line with the batches' reads. */
  function checkMissed(): void {
    flushes = flushes.then(async () => {
      try {
        const missed = await feedCheck.check();
        if (missed.length === 0 || streams.size === 0) return;
        deps.logger.debug({ orders: missed.length }, "orders written with no feed message seen; re-reading them");
        for (const id of missed) changed.add(id);
        // Their steps are unknown: every part that could show them is read again.
        newestDirty = approvalsDirty = overviewDirty = true;
        scheduleFlush();
      } catch (err) {
        deps.logger.warn({ err }, "could not check for orders the feed missed; the next check looks back further");
      }
    });
  }

  const listener: OrderFeedSubscriber = {
    onOrderEvent({ id, event }: OrderFeedMessage) {
      if (!orderIdSchema.safeParse(id).success) return;
      changed.add(id);
      if (PLACED_STEPS.has(event.step) || onFirstPage.has(id)) newestDirty = true;
      if (DECISION_STEPS.has(event.step) || awaiting.has(id)) approvalsDirty = true;
      overviewDirty = true;
      scheduleFlush();
    },
    // Every stream reconnects and reads its parts again; the check restarts with them.
    onGap: resyncAll,
  };

  function detach(s: OpsStream): void {
    streams.delete(s);
    if (streams.size > 0) return;
    if (subscription) deps.hub.unsubscribeOrderFeed(listener);
    subscription = null;
    if (minuteTimer) clearInterval(minuteTimer);
    minuteTimer = null;
    feedCheck.stop();
  }

  /** What the page should show now, from PostgreSQL: sent first on every (re)connect. */
  async function sendCurrent(s: OpsStream): Promise<void> {
    const read = ++reads;
    const [pending, overview, first] = await Promise.all([
      s.topics.has("approvals") ? loadApprovals() : null,
      s.topics.has("overview") ? deps.overview.overview() : null,
      s.topics.has("orders") ? deps.live.newest(newestLimit) : null,
    ]);
    if (pending) sendPart(s, "approvals", read, approvalsFrame(pending, s));
    if (overview) sendPart(s, "overview", read, { event: "overview", data: opsOverviewSection(overview).value });
    if (first) {
      onFirstPage = new Set(first.map((o) => o.id));
      sendPart(s, "newest", read, { event: "orders-newest", data: opsNewestRows(first, url).value });
    }
  }

  /**
   * Runs one operator stream on an open SSE response (the operator check is the route's): the
   * current state, then live fragments until the client leaves, the stream expires or a gap.
   */
  async function open(sse: SseStream, viewer: OpsViewer, log: Logger): Promise<void> {
    const s: OpsStream = { sse, ...viewer, shown: { overview: 0, approvals: 0, newest: 0 } };
    streams.add(s);
    sse.onClose(() => detach(s));
    minuteTimer ??= setInterval(() => {
      overviewDirty = true;
      scheduleOverview();
    }, 60_000);
    minuteTimer.unref();
    feedCheck.start(checkMissed);
    let live = true;
    try {
      if (!subscription) {
        const attempt: Promise<void> = deps.hub.subscribeOrderFeed(listener).catch((err: unknown) => {
          // Forgotten, so the next stream tries again (unless a newer attempt has taken its place).
          if (subscription === attempt) subscription = null;
          throw err;
        });
        subscription = attempt;
      }
      await subscription;
    } catch (err) {
      live = false;
      log.warn({ err }, "live order feed unavailable; the operator's page polls by reconnecting");
    }
    if (sse.closed) return;
    try {
      await sendCurrent(s);
    } catch (err) {
      // The response is already open (200), so no error page: the browser retries in a moment.
      log.warn({ err }, "operator view unavailable; the browser will retry");
      return sse.endWithRetry(retryMs, "done");
    }
    if (!live) sse.endWithRetry(retryMs, "resync");
  }

  return { open };
}
export type OpsFeed = ReturnType<typeof createOpsFeed>;
