/**
 * The one snapshot policy for every kind of progress (orders, content jobs, campaigns), for a page
 * or the start of a stream, without asking Restate on the common path: the resource's Valkey
 * stream, checked against its stored row, which its workflow writes before (or in the same step
 * as) publishing the events that report it, so the row wins whenever it is ahead (Valkey lost
 * events). Restate's `status` handler is asked only when Valkey cannot be read at all. A web
 * restart that makes every open page reconnect therefore costs Restate nothing. Each kind says how
 * to read its row, how a row reads as a snapshot and when a row is ahead of the stream
 * (order-snapshot.ts, content-snapshot.ts, campaign-snapshot.ts).
 */
import type { Logger } from "../../shared/logger.ts";
import { emptySnapshot, type ProgressEvent, type ProgressSnapshot, type ResourceKind } from "../../shared/progress-event.ts";
import type { ProgressHub } from "./progress-hub.ts";

type Shown = Pick<ProgressSnapshot, "percent" | "status" | "step" | "data">;

/** How one kind of resource is read and judged; `Row` is what its read repo returns. */
export interface SnapshotSource<Row> {
  kind: ResourceKind;
  /** The log field that names the resource: `orderId`, `jobId`, `campaignId`. */
  logKey: string;
  /**
   * Whether the stream is read whole (an order's first event names its invocation, and its page
   * shows every event) or only its newest event (enough where the row names the invocation, and a
   * campaign's stream holds an event per recipient).
   */
  reads: "whole" | "newest";
  readRow(id: string): Promise<Row | null>;
  fromRow(row: Row): ProgressSnapshot;
  /** Whether the row's state is past what the stream (or Restate) says: events were lost on the way. */
  rowIsAhead(stored: Shown, seen: Shown): boolean;
  /** A streamed state that no row can overtake, so the row need not be read (an order's terminal event, before any refund). */
  final?(streamed: ProgressSnapshot, knownRow: Row | null | undefined): boolean;
  /** Restate's `status` handler: asked only when Valkey cannot be read. */
  status(id: string): Promise<ProgressSnapshot>;
}

/**
 * What a caller already read, so nothing is read twice: the stream's events (null when Valkey could
 * not be read) and the row (null when there is none). Left out, each is read here. A row read after
 * the stream is at least as new as it.
 */
export interface KnownState<Row> {
  events?: ProgressEvent[] | null;
  row?: Row | null;
}

/** The snapshot, and the row it was checked against (undefined when none was read), for callers that show the row too. */
export interface CurrentState<Row> {
  snapshot: ProgressSnapshot;
  row: Row | null | undefined;
  /** Whether Valkey was read: a stream that subscribed first has nothing to replay before this snapshot. */
  fromStream: boolean;
}

/** The invocation id an event names in its data (an order's first event does), if any. */
export function invocationIdOf(e: Pick<ProgressEvent, "data">): string | null {
  const id = e.data?.invocationId;
  return typeof id === "string" ? id : null;
}

/** The state after a resource's stored events, or null when there are none. */
export function snapshotFromEvents(events: ProgressEvent[]): ProgressSnapshot | null {
  const last = events.at(-1);
  if (!last) return null;
  const invocationId = events.map(invocationIdOf).find((id) => id !== null) ?? null;
  const { kind: _kind, ...state } = last;
  return { ...state, invocationId };
}

/** The resource's stream as its kind reads it, or null when Valkey cannot be read. */
export async function readStream(
  hub: ProgressHub,
  source: Pick<SnapshotSource<unknown>, "kind" | "logKey" | "reads">,
  id: string,
  log: Logger,
): Promise<ProgressEvent[] | null> {
  const resource = { kind: source.kind, id };
  try {
    if (source.reads === "whole") return await hub.readSince(resource, 0);
    const newest = await hub.latest(resource);
    return newest ? [newest] : [];
  } catch (err) {
    log.warn({ err, [source.logKey]: id }, "progress stream unavailable; asking the workflow");
    return null;
  }
}

/** What `seen` (the stream's state, or Restate's) becomes once checked against the row. */
function checkedAgainstRow<Row>(source: SnapshotSource<Row>, seen: ProgressSnapshot | null, row: Row | null): ProgressSnapshot {
  if (!row) return seen ?? emptySnapshot;
  const stored = source.fromRow(row);
  if (!seen) return stored;
  if (source.rowIsAhead(stored, seen)) return { ...stored, invocationId: seen.invocationId ?? stored.invocationId };
  return seen.invocationId === null ? { ...seen, invocationId: stored.invocationId } : seen;
}

export async function currentSnapshot<Row>(
  deps: { hub?: ProgressHub | undefined },
  source: SnapshotSource<Row>,
  id: string,
  log: Logger,
  known: KnownState<Row> = {},
): Promise<CurrentState<Row>> {
  const events = known.events !== undefined ? known.events : deps.hub ? await readStream(deps.hub, source, id, log) : null;
  let seen = events ? snapshotFromEvents(events) : null;
  const fromStream = events !== null;
  if (seen && source.final?.(seen, known.row)) return { snapshot: seen, row: known.row, fromStream };
  if (events === null) {
    try {
      seen = await source.status(id);
    } catch (err) {
      log.warn({ err, [source.logKey]: id }, "workflow status unavailable; using the stored state");
    }
  }
  // Read after the stream (or Restate's answer), so it is at least as new as what it is checked against.
  const row = known.row !== undefined ? known.row : await source.readRow(id);
  return { snapshot: checkedAgainstRow(source, seen, row), row, fromStream };
}
