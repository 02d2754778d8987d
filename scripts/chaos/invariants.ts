/**
 * What must hold after any amount of crashing, checked from the outside: the order rows, the
 * payment ledger, stock and reservations, the messages the SMTP catcher received, what each
 * shopper saw on its progress stream, and the processes' logs.
 */
import type pg from "pg";
import type { MailCatcher } from "../stack/mail-catcher.ts";
import type { RestockOutcome } from "./restocker.ts";
import type { CampaignOutcome, ShopperOutcome } from "./shopper.ts";

const FINAL = ["fulfilled", "rejected", "cancelled", "failed"];

export interface ChaosFigures {
  requested: number;
  submitted: number;
  terminal: number;
  outcomes: Record<string, number>;
  duplicateCharges: number;
  duplicateRefunds: number;
  /** Orders that ended with an authorisation still holding the customer's money (never captured nor cancelled). */
  openAuthorizations: number;
  moneyMismatches: number;
  emailsReceived: number;
  duplicateEmailsByMessageId: number;
  /** Same Message-ID delivered again because the worker died inside the SMTP acknowledgement window. */
  resentAfterCrash: number;
  duplicateEmailsByOrder: number;
  missingEmails: number;
  oversoldUnits: number;
  stockMismatches: number;
  /** Restocks sent through /ops/stock, those confirmed (303), and the movements the database recorded. */
  restocksSent: number;
  restocksConfirmed: number;
  stockMovements: number;
  /** Confirmed restocks without exactly one movement of their units, plus movements nobody sent. */
  movementMismatches: number;
  leakedReservations: number;
  sseClients: number;
  sseTerminal: number;
  sseReconnects: number;
  completionP50Ms: number;
  completionP99Ms: number;
  completionMaxMs: number;
  workerKills: number;
  campaignRecipients: number;
  campaignDeliveredOnce: number;
  campaignExpected: number;
  campaignWrongDeliveries: number;
  campaignSawTerminal: boolean;
  secretsInLogs: number;
  emailAddressesInLogs: number;
}

/** Money that moved for one order, by kind: how many times and how many cents in all. */
export interface LedgerRow {
  order_id: string;
  kind: "charge" | "refund";
  n: number;
  cents: number;
}

/** Where the run reads what the payment provider did: our PostgreSQL ledger (local) or Stripe's. */
export interface LedgerSource {
  moved(orderIds: string[]): Promise<LedgerRow[]>;
  /** Orders among `endedIds` whose provider still holds an authorisation. */
  openAuthorizations(endedIds: string[]): Promise<number>;
}

export function localLedger(db: pg.Pool): LedgerSource {
  return {
    // Only 'succeeded' rows moved money: an authorisation ('authorized') is captured into
    // 'succeeded' or released as 'canceled'.
    async moved(orderIds) {
      const r = await db.query(
        `SELECT order_id, kind, count(*)::int AS n, sum(amount_cents)::int AS cents
           FROM payments WHERE status = 'succeeded' AND order_id = ANY($1::uuid[]) GROUP BY order_id, kind`,
        [orderIds],
      );
      return r.rows as LedgerRow[];
    },
    async openAuthorizations(endedIds) {
      const r = await db.query(
        `SELECT count(DISTINCT order_id)::int AS n FROM payments WHERE status = 'authorized' AND order_id = ANY($1::uuid[])`,
        [endedIds],
      );
      return (r.rows[0] as { n: number }).n;
    },
  };
}

export interface InvariantInput {
  db: pg.Pool;
  /** The payment provider's record; our PostgreSQL ledger when not given. */
  ledger?: LedgerSource;
  mail: MailCatcher;
  shoppers: ShopperOutcome[];
  initialStock: Record<string, number>;
  /** What the operator restocked during the run (each movement counts in the stock invariant). */
  restocks?: RestockOutcome[];
  customerEmails: string[];
  secrets: string[];
  logs: string;
  workerKills: number;
  /** The campaign sent alongside: recipients starting with "bounce-" are refused by the catcher. */
  campaign: { outcome: CampaignOutcome | null; recipients: string[] };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

function countBy<T>(items: T[], key: (t: T) => string): Map<string, number> {
  const m = new Map<string, number>();
  for (const it of items) m.set(key(it), (m.get(key(it)) ?? 0) + 1);
  return m;
}

export async function checkInvariants(
  input: InvariantInput,
): Promise<{ figures: ChaosFigures; violations: string[]; resent: string[][] }> {
  const { db, shoppers } = input;
  const violations: string[] = [];
  const placedIds = shoppers.flatMap((s) => (s.placed && s.orderId ? [s.orderId] : []));

  // Orders: every submitted order reached a final status.
  const orders = (
    await db.query(`SELECT id, email, status, total_cents FROM orders WHERE id = ANY($1::uuid[])`, [placedIds])
  ).rows.map((r: { id: string; email: string; status: string; total_cents: number }) => r);
  const outcomes = Object.fromEntries(countBy(orders, (o) => o.status));
  const terminal = orders.filter((o) => FINAL.includes(o.status)).length;
  const unplaced = shoppers.filter((s) => !s.placed);
  if (unplaced.length > 0) violations.push(`${unplaced.length} shoppers could not place their order (${unplaced[0]?.error})`);
  if (orders.length !== placedIds.length) violations.push(`${placedIds.length - orders.length} submitted orders have no row`);
  if (terminal !== placedIds.length) violations.push(`${placedIds.length - terminal} submitted orders are not in a final status`);
  const extra = await db.query(`SELECT count(*)::int AS n FROM orders WHERE NOT (id = ANY($1::uuid[]))`, [placedIds]);
  if ((extra.rows[0] as { n: number }).n > 0) violations.push(`${(extra.rows[0] as { n: number }).n} orders nobody submitted`);

  // Ledger: one charge per order at most, one refund at most, and the money adds up; an order that
  // ended must not leave an authorisation open.
  const ledger = input.ledger ?? localLedger(db);
  const payments = await ledger.moved(placedIds);
  const duplicateCharges = payments.filter((p) => p.kind === "charge" && p.n > 1).length;
  const duplicateRefunds = payments.filter((p) => p.kind === "refund" && p.n > 1).length;
  if (duplicateCharges > 0) violations.push(`${duplicateCharges} orders charged more than once`);
  if (duplicateRefunds > 0) violations.push(`${duplicateRefunds} orders refunded more than once`);
  const openAuthorizations = await ledger.openAuthorizations(orders.filter((o) => FINAL.includes(o.status)).map((o) => o.id));
  if (openAuthorizations > 0) violations.push(`${openAuthorizations} ended orders still hold an authorisation`);
  const net = new Map<string, number>();
  for (const p of payments) net.set(p.order_id, (net.get(p.order_id) ?? 0) + (p.kind === "charge" ? p.cents : -p.cents));
  const moneyMismatches = orders.filter(
    (o) => (net.get(o.id) ?? 0) !== (o.status === "fulfilled" ? o.total_cents : 0) && FINAL.includes(o.status),
  ).length;
  if (moneyMismatches > 0) violations.push(`${moneyMismatches} orders whose charges minus refunds do not match their outcome`);

  // Stock: nothing sold twice, nothing sold that was not there, nothing held by an order that ended
  // (a shipped order keeps its units, refunded or not), and every operator's restock counted once:
  // stock = initial + movements − held.
  const stock = (
    await db.query(`SELECT sku, stock FROM products WHERE sku = ANY($1)`, [Object.keys(input.initialStock)])
  ).rows.map((r: { sku: string; stock: number }) => r);
  const held = (
    await db.query(
      `SELECT r.sku, sum(r.quantity)::int AS units,
              count(*) FILTER (WHERE o.status NOT IN ('fulfilled', 'refunded'))::int AS leaked
         FROM stock_reservations r JOIN orders o ON o.id = r.order_id
        WHERE r.status = 'reserved' GROUP BY r.sku`,
    )
  ).rows.map((r: { sku: string; units: number; leaked: number }) => r);
  const movementRows = (await db.query(`SELECT idempotency_id, sku, delta FROM stock_movements`)).rows.map(
    (r: { idempotency_id: string; sku: string; delta: number }) => r,
  );
  const moved = (sku: string) => movementRows.filter((m) => m.sku === sku).reduce((n, m) => n + m.delta, 0);
  let oversoldUnits = 0;
  let stockMismatches = 0;
  let leakedReservations = 0;
  for (const s of stock) {
    const h = held.find((x) => x.sku === s.sku);
    const available = (input.initialStock[s.sku] ?? 0) + moved(s.sku);
    oversoldUnits += Math.max(0, (h?.units ?? 0) - available) + Math.max(0, -s.stock);
    if (available - (h?.units ?? 0) !== s.stock) stockMismatches++;
    leakedReservations += h?.leaked ?? 0;
  }
  const restocks = input.restocks ?? [];
  const sentIds = new Set(restocks.flatMap((r) => (r.movementId ? [r.movementId] : [])));
  const movementMismatches =
    restocks.filter(
      (r) =>
        r.confirmed &&
        movementRows.filter((m) => m.idempotency_id === r.movementId && m.sku === r.sku && m.delta === r.units).length !== 1,
    ).length + movementRows.filter((m) => !sentIds.has(m.idempotency_id)).length;
  const restocksConfirmed = restocks.filter((r) => r.confirmed).length;
  if (oversoldUnits > 0) violations.push(`${oversoldUnits} units sold beyond stock`);
  if (stockMismatches > 0)
    violations.push(`${stockMismatches} products whose stock differs from initial stock plus movements minus what is held`);
  if (restocksConfirmed !== restocks.length) {
    const lost = restocks.find((r) => !r.confirmed);
    violations.push(`${restocks.length - restocksConfirmed} restocks were never confirmed (${lost?.error})`);
  }
  if (movementMismatches > 0) violations.push(`${movementMismatches} restocks not recorded as exactly one movement`);
  if (leakedReservations > 0) violations.push(`${leakedReservations} reservations still held by orders that did not ship`);

  // Email, as received: no message twice, no order notified twice of one thing, none missing.
  // SMTP cannot be exactly-once: a worker killed after the server took the message but before our
  // row says "sent" sends it again on retry. The copy carries the same Message-ID (receivers fold
  // it), and the row shows more than one attempt. That is counted apart; any other repeat is a bug.
  const messages = input.mail.messages;
  const attempts = new Map(
    (await db.query(`SELECT message_id, attempts FROM emails`)).rows.map((r: { message_id: string; attempts: number }) => [
      `<${r.message_id.replace(/^<|>$/g, "")}>`,
      r.attempts,
    ]),
  );
  let duplicateEmailsByMessageId = 0;
  let resentAfterCrash = 0;
  const resent: string[][] = [];
  for (const [id, n] of countBy(messages, (m) => m.messageId ?? `no-id-${m.id}`)) {
    if (n === 1) continue;
    if ((attempts.get(`<${id.replace(/^<|>$/g, "")}>`) ?? 0) >= n) {
      resentAfterCrash += n - 1;
      resent.push(messages.filter((m) => m.messageId === id).map((m) => m.receivedAt));
    } else duplicateEmailsByMessageId++;
  }
  const kindOf = (subject: string) => subject.split(":")[0] ?? subject;
  // Per order and kind of notification, distinct messages: a crash-window copy is the same message.
  const distinct = [...new Map(messages.map((m) => [m.messageId ?? `no-id-${m.id}`, m])).values()];
  const byOrderAndKind = countBy(distinct, (m) => `${m.envelopeTo.join(",")}|${kindOf(m.subject)}`);
  const duplicateEmailsByOrder = [...byOrderAndKind.values()].filter((n) => n > 1).length;
  const wrongEmails: string[] = [];
  for (const o of orders) {
    const got = (kind: string) => byOrderAndKind.get(`${o.email}|${kind}`) ?? 0;
    const counts = `${o.id} (${o.status}: confirmed ${got("Order confirmed")}, shipped ${got("Order shipped")}, cancelled ${got("Order cancelled")})`;
    if (o.status === "fulfilled") {
      if (got("Order confirmed") === 0 || got("Order shipped") === 0 || got("Order cancelled") > 0) wrongEmails.push(counts);
    } else if (FINAL.includes(o.status) && (got("Order cancelled") === 0 || got("Order shipped") > 0)) wrongEmails.push(counts);
  }
  const missingEmails = wrongEmails.length;
  if (duplicateEmailsByMessageId > 0) violations.push(`${duplicateEmailsByMessageId} Message-IDs received more than once`);
  if (duplicateEmailsByOrder > 0) violations.push(`${duplicateEmailsByOrder} order notifications sent more than once`);
  if (missingEmails > 0)
    violations.push(
      `${missingEmails} orders without exactly the emails their outcome calls for: ${wrongEmails.slice(0, 5).join("; ")}`,
    );

  // The campaign: every reader got it once, no refused address got it, and its page saw the end.
  const campaignExpected = input.campaign.recipients.filter((r) => !r.startsWith("bounce-")).length;
  let campaignDeliveredOnce = 0;
  let campaignWrongDeliveries = 0;
  for (const r of input.campaign.recipients) {
    const got = distinct.filter((m) => m.envelopeTo.includes(r)).length;
    if (r.startsWith("bounce-")) campaignWrongDeliveries += got;
    else if (got === 1) campaignDeliveredOnce++;
    else campaignWrongDeliveries += Math.abs(got - 1);
  }
  const campaignSawTerminal = input.campaign.outcome?.sawTerminal ?? false;
  if (campaignDeliveredOnce !== campaignExpected || campaignWrongDeliveries > 0)
    violations.push(
      `campaign: ${campaignDeliveredOnce}/${campaignExpected} delivered once, ${campaignWrongDeliveries} wrong deliveries`,
    );
  if (!campaignSawTerminal) violations.push(`the campaign's progress stream never ended (${input.campaign.outcome?.error})`);

  // What the shoppers saw.
  const placed = shoppers.filter((s) => s.placed);
  const sseTerminal = placed.filter((s) => s.sawTerminal).length;
  if (sseTerminal !== placed.length) {
    const stuck = placed.find((s) => !s.sawTerminal);
    violations.push(`${placed.length - sseTerminal} progress streams never reached the terminal event (${stuck?.error})`);
  }
  const completion = placed.flatMap((s) => (s.finishedAt !== null ? [s.finishedAt - s.placedAt] : [])).sort((a, b) => a - b);

  // Logs: no secret and no customer address, ever.
  const secretsInLogs = input.secrets.filter((s) => input.logs.includes(s)).length;
  // One pass over the logs for every address-shaped token, then a set lookup per customer: a
  // substring search per customer was quadratic (40,000 addresses × 140 MB of logs took longer
  // than the run itself). A masked address (`b***@example.org`) is not a customer's address.
  const inLogs = new Set(input.logs.toLowerCase().match(/[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+/g) ?? []);
  const emailAddressesInLogs = input.customerEmails.filter((e) => inLogs.has(e.toLowerCase())).length;
  if (secretsInLogs > 0) violations.push(`${secretsInLogs} secrets appear in the logs`);
  if (emailAddressesInLogs > 0) violations.push(`${emailAddressesInLogs} customer email addresses appear in the logs`);

  return {
    figures: {
      requested: shoppers.length,
      submitted: placedIds.length,
      terminal,
      outcomes,
      duplicateCharges,
      duplicateRefunds,
      openAuthorizations,
      moneyMismatches,
      emailsReceived: messages.length,
      duplicateEmailsByMessageId,
      resentAfterCrash,
      duplicateEmailsByOrder,
      missingEmails,
      oversoldUnits,
      stockMismatches,
      restocksSent: restocks.length,
      restocksConfirmed,
      stockMovements: movementRows.length,
      movementMismatches,
      leakedReservations,
      sseClients: placed.length,
      sseTerminal,
      sseReconnects: placed.reduce((n, s) => n + Math.max(0, s.reconnects), 0),
      completionP50Ms: percentile(completion, 50),
      completionP99Ms: percentile(completion, 99),
      completionMaxMs: completion.at(-1) ?? 0,
      workerKills: input.workerKills,
      campaignRecipients: input.campaign.recipients.length,
      campaignDeliveredOnce,
      campaignExpected,
      campaignWrongDeliveries,
      campaignSawTerminal,
      secretsInLogs,
      emailAddressesInLogs,
    },
    violations,
    resent,
  };
}

/** The figure table, as printed by `npm run chaos` and pasted into docs/reliability.md. */
export function formatFigures(f: ChaosFigures): string {
  const rows: Array<[string, string, string]> = [
    ["orders terminal / submitted", `${f.terminal} / ${f.submitted}`, f.terminal === f.submitted ? "ok" : "VIOLATION"],
    [
      "outcomes",
      Object.entries(f.outcomes)
        .map(([k, v]) => `${k} ${v}`)
        .join(", "),
      "",
    ],
    ["duplicate charges (ledger)", String(f.duplicateCharges), f.duplicateCharges === 0 ? "ok" : "VIOLATION"],
    ["duplicate refunds (ledger)", String(f.duplicateRefunds), f.duplicateRefunds === 0 ? "ok" : "VIOLATION"],
    ["authorisations left open", String(f.openAuthorizations), f.openAuthorizations === 0 ? "ok" : "VIOLATION"],
    ["charges − refunds ≠ outcome", String(f.moneyMismatches), f.moneyMismatches === 0 ? "ok" : "VIOLATION"],
    ["emails received", String(f.emailsReceived), ""],
    [
      "duplicate emails by Message-ID",
      String(f.duplicateEmailsByMessageId),
      f.duplicateEmailsByMessageId === 0 ? "ok" : "VIOLATION",
    ],
    ["re-sent after a crash at the SMTP ack (same Message-ID)", String(f.resentAfterCrash), "reported"],
    ["duplicate emails by order", String(f.duplicateEmailsByOrder), f.duplicateEmailsByOrder === 0 ? "ok" : "VIOLATION"],
    ["orders missing an email", String(f.missingEmails), f.missingEmails === 0 ? "ok" : "VIOLATION"],
    ["oversold units", String(f.oversoldUnits), f.oversoldUnits === 0 ? "ok" : "VIOLATION"],
    ["stock ≠ initial + movements − held", String(f.stockMismatches), f.stockMismatches === 0 ? "ok" : "VIOLATION"],
    [
      "restocks confirmed / sent (one movement each)",
      `${f.restocksConfirmed} / ${f.restocksSent} (${f.stockMovements} movements)`,
      f.restocksConfirmed === f.restocksSent && f.movementMismatches === 0 ? "ok" : "VIOLATION",
    ],
    ["reservations leaked", String(f.leakedReservations), f.leakedReservations === 0 ? "ok" : "VIOLATION"],
    [
      "SSE clients that saw the terminal event",
      `${f.sseTerminal} / ${f.sseClients}`,
      f.sseTerminal === f.sseClients ? "ok" : "VIOLATION",
    ],
    ["SSE reconnects", String(f.sseReconnects), ""],
    ["completion p50 / p99 / max", `${ms(f.completionP50Ms)} / ${ms(f.completionP99Ms)} / ${ms(f.completionMaxMs)}`, ""],
    ["worker SIGKILLs", String(f.workerKills), ""],
    [
      "campaign: readers delivered once / expected",
      `${f.campaignDeliveredOnce} / ${f.campaignExpected}`,
      f.campaignDeliveredOnce === f.campaignExpected ? "ok" : "VIOLATION",
    ],
    [
      "campaign: extra or refused deliveries",
      String(f.campaignWrongDeliveries),
      f.campaignWrongDeliveries === 0 ? "ok" : "VIOLATION",
    ],
    ["campaign: stream saw the end", f.campaignSawTerminal ? "yes" : "no", f.campaignSawTerminal ? "ok" : "VIOLATION"],
    ["secrets in logs", String(f.secretsInLogs), f.secretsInLogs === 0 ? "ok" : "VIOLATION"],
    ["customer email addresses in logs", String(f.emailAddressesInLogs), f.emailAddressesInLogs === 0 ? "ok" : "VIOLATION"],
  ];
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  const line = (a: string, b: string, c: string) => `| ${a.padEnd(w0)} | ${b.padEnd(w1)} | ${c.padEnd(9)} |`;
  return [
    line("invariant", "figure", "check"),
    `|${"-".repeat(w0 + 2)}|${"-".repeat(w1 + 2)}|${"-".repeat(11)}|`,
    ...rows.map((r) => line(...r)),
  ].join("\n");
}

function ms(n: number): string {
  return n >= 1000 ? `${(n / 1000).toFixed(1)} s` : `${Math.round(n)} ms`;
}
