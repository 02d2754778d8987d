/**
 * What one order costs, read from Restate's own introspection (the admin API's SQL over
 * `sys_invocation` and `sys_journal`), so the figures are counts, not clock readings:
 *   - journal entries of the order's workflow run, split into commands and notifications and
 *     listed by type (a `Run` is a named step, a `Call` an awaited invocation, a `OneWayCall` a send);
 *   - invocations the order caused: its run, the calls and sends it made, and the `status` calls
 *     the web made while it ran;
 *   - where the time went at concurrency 1: the journal's append times per step, between the
 *     browser's POST and the moment its stream saw `done`.
 */

export interface OrderSample {
  orderId: string;
  /** Wall-clock ms (Date.now) when the bench sent the form POST, and when its stream saw `done`. */
  postedAt: number;
  doneAt: number;
}

export interface OrderAccount {
  orders: number;
  commandsPerOrder: number;
  notificationsPerOrder: number;
  /** Command types of one run, e.g. { "Run": 3, "SetState": 3, "Call": 1 }, averaged per order. */
  commandTypes: Record<string, number>;
  invocationsPerOrder: number;
  /** Invocations the run awaited (`Call` commands), besides the run itself. */
  awaitedInvocationsPerOrder: number;
  /**
   * Where the time of one order goes, ms averaged over the samples, in order. The phases up to the
   * browser's `done` add up to `latencyTotalMs`; those marked `afterDone` come after it (a step
   * publishes its events before its own end, and the order's last step sends its email after
   * them), so they are not part of what the customer waits for.
   */
  latency: Array<{ phase: string; ms: number; afterDone?: boolean }>;
  latencyTotalMs: number;
}

/** Marks a phase's share that came after the browser saw `done` (stripped before it is reported). */
const AFTER_DONE = "after done: ";

export interface InvocationRow {
  id: string;
  target_service_name: string;
  target_service_key: string | null;
  target_handler_name: string;
  invoked_by_id: string | null;
  created_at: string;
  running_at: string | null;
  completed_at: string | null;
}

export interface JournalRow {
  id: string;
  index: number;
  entry_type: string;
  name: string | null;
  appended_at: string | null;
  entry_lite_json: string | null;
}

/** A SQL query against Restate's introspection tables, through the admin API. */
export async function query<T>(adminUrl: string, sql: string): Promise<T[]> {
  const res = await fetch(`${adminUrl}/query`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ query: sql }),
  });
  if (!res.ok) throw new Error(`admin query answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
  return ((await res.json()) as { rows: T[] }).rows;
}

/** A command as the breakdown names it: `Run "charge payment"`, `PeekPromise cancel`. */
function label(e: JournalRow): string {
  const type = e.entry_type.replace(/^Command: /, "");
  if (e.name) return `${type} "${e.name}"`;
  try {
    const cmd = (JSON.parse(e.entry_lite_json ?? "{}") as { Command?: Record<string, Record<string, unknown>> }).Command ?? {};
    const body = cmd[type] ?? {};
    const target = JSON.stringify(body.invocation_target ?? "");
    const service = /"name":"([^"]+)"/.exec(target)?.[1];
    const handler = /"handler":"([^"]+)"/.exec(target)?.[1];
    if (service) return `${type} ${service}/${handler ?? "?"}`;
    if (typeof body.key === "string") return `${type} ${body.key}`;
  } catch {
    // an entry this version of the bench cannot read is still counted under its type
  }
  return type;
}

const quoted = (ids: string[]) => ids.map((id) => `'${id.replace(/'/g, "''")}'`).join(", ");
const ms = (iso: string | null | undefined) => (iso ? Date.parse(iso) : NaN);

/**
 * Where the time of the sampled orders went, from their runs' journal append times (mean per
 * order; a phase missing from an order counts 0 for it).
 */
export function latencyPhases(
  samples: OrderSample[],
  runs: Array<Pick<InvocationRow, "id" | "target_service_key" | "created_at">>,
  journal: Array<Pick<JournalRow, "id" | "index" | "entry_type" | "name" | "appended_at" | "entry_lite_json">>,
): OrderAccount["latency"] {
  // Latency: the browser's POST → Restate created the run → each completion the run waited for
  // (a step's result, a call's answer, a promise) → its output → the browser's stream saw `done`.
  // The journal goes on after `done` when the last step publishes it before the step ends: what
  // comes after `done` is counted apart, so the phases before it add up to the order's latency.
  const phases = new Map<string, number[]>();
  const add = (phase: string, v: number) => {
    if (!Number.isFinite(v) || v === 0) return;
    const list = phases.get(phase) ?? [];
    list.push(v);
    phases.set(phase, list);
  };
  const byRun = new Map<string, JournalRow[]>();
  for (const j of journal) byRun.set(j.id, [...(byRun.get(j.id) ?? []), j]);
  for (const s of samples) {
    const run = runs.find((r) => r.target_service_key === s.orderId);
    if (!run) continue;
    add("web: POST → workflow submitted", ms(run.created_at) - s.postedAt);
    let prev = ms(run.created_at);
    /** Adds a phase ending at `at`, split at the browser's `done`. */
    const until = (phase: string, at: number) => {
      if (prev < s.doneAt) add(phase, Math.min(at, s.doneAt) - prev);
      if (at > s.doneAt) add(`${AFTER_DONE}${phase}`, at - Math.max(prev, s.doneAt));
      prev = at;
    };
    let waitingFor = "start";
    let outputAt = NaN;
    for (const e of (byRun.get(run.id) ?? []).sort((a, b) => a.index - b.index)) {
      const at = ms(e.appended_at);
      if (e.entry_type === "Command: Output") outputAt = at;
      else if (e.entry_type.startsWith("Command") && e.entry_type !== "Command: SetState") waitingFor = label(e);
      else if (e.entry_type.startsWith("Notification") && e.entry_type !== "Notification: CallInvocationId")
        until(waitingFor, at);
    }
    if (Number.isFinite(outputAt)) until("last completion → output", outputAt);
    if (prev < s.doneAt) add("web: output → browser saw done", s.doneAt - prev);
  }
  const latency = [...phases].map(([phase, values]) => ({
    phase: phase.replace(AFTER_DONE, ""),
    ms: values.reduce((a, b) => a + b, 0) / samples.length,
    ...(phase.startsWith(AFTER_DONE) ? { afterDone: true } : {}),
  }));
  // Before `done` first, in the order they happened; then what came after it.
  latency.sort((a, b) => Number(a.afterDone ?? false) - Number(b.afterDone ?? false));
  return latency;
}

export async function accountOrders(adminUrl: string, samples: OrderSample[]): Promise<OrderAccount> {
  const keys = samples.map((s) => s.orderId);
  const own = await query<InvocationRow>(
    adminUrl,
    `SELECT id, target_service_name, target_service_key, target_handler_name, invoked_by_id, created_at, running_at, completed_at
       FROM sys_invocation WHERE target_service_name = 'OrderFulfilment' AND target_service_key IN (${quoted(keys)})`,
  );
  const runs = own.filter((i) => i.target_handler_name === "run");
  const children = runs.length
    ? await query<InvocationRow>(
        adminUrl,
        `SELECT id, target_service_name, target_service_key, target_handler_name, invoked_by_id, created_at, running_at, completed_at
           FROM sys_invocation WHERE invoked_by_id IN (${quoted(runs.map((r) => r.id))})`,
      )
    : [];
  const journal = runs.length
    ? await query<JournalRow>(
        adminUrl,
        `SELECT id, index, entry_type, name, appended_at, entry_lite_json FROM sys_journal WHERE id IN (${quoted(runs.map((r) => r.id))})`,
      )
    : [];
  const n = Math.max(1, runs.length);
  const commands = journal.filter((j) => j.entry_type.startsWith("Command"));
  const commandTypes: Record<string, number> = {};
  for (const c of commands) {
    const type = c.entry_type.replace(/^Command: /, "");
    commandTypes[type] = (commandTypes[type] ?? 0) + 1 / n;
  }

  const latency = latencyPhases(samples, runs, journal);
  return {
    orders: runs.length,
    commandsPerOrder: commands.length / n,
    notificationsPerOrder: (journal.length - commands.length) / n,
    commandTypes,
    invocationsPerOrder: (own.length + children.length) / n,
    awaitedInvocationsPerOrder: commandTypes.Call ?? 0,
    latency,
    latencyTotalMs: samples.reduce((a, s) => a + (s.doneAt - s.postedAt), 0) / Math.max(1, samples.length),
  };
}
