/**
 * Operator accounts and their decisions. Passwords are stored only as scrypt hashes
 * (web/operators/operator-password.ts); a sign-in with an unknown name costs as much as a wrong password.
 */
import type pg from "pg";
import { DEV_OPERATOR, UNKNOWN_OPERATOR_HASH, hashPassword, verifyPassword } from "./operator-password.ts";

export type DecisionOutcome = "accepted" | "refused" | "unknown";

/**
 * An enabled account as a sign-in saw it. `version` changes whenever the account does (a reset, a
 * disable), so a session granted with an older version is no longer the account's.
 */
export interface OperatorAccount {
  name: string;
  version: string;
}

// updated_at in microseconds, as text: compared for equality, never parsed into a JS Date (milliseconds).
const VERSION = `(extract(epoch FROM updated_at) * 1000000)::bigint::text`;

export function createOperatorsRepo(pool: pg.Pool) {
  /** Creates the account, or (with `reset`) replaces its password and enables it again; false if there was none to reset, or one to add. */
  async function setPassword(name: string, password: string, mode: "add" | "reset"): Promise<boolean> {
    const hash = await hashPassword(password);
    const r =
      mode === "add"
        ? await pool.query(`INSERT INTO operators (name, password_hash) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, [
            name,
            hash,
          ])
        : await pool.query(`UPDATE operators SET password_hash = $2, disabled_at = NULL, updated_at = now() WHERE name = $1`, [
            name,
            hash,
          ]);
    return r.rowCount === 1;
  }

  /** The account when the password is theirs, else null. */
  async function authenticate(name: string, password: string): Promise<OperatorAccount | null> {
    const r = await pool.query<{ password_hash: string; version: string }>(
      `SELECT password_hash, ${VERSION} AS version FROM operators WHERE name = $1 AND disabled_at IS NULL`,
      [name],
    );
    const row = r.rows[0];
    const ok = await verifyPassword(password, row?.password_hash ?? UNKNOWN_OPERATOR_HASH);
    return ok && row !== undefined ? { name, version: row.version } : null;
  }

  /** The current version of each of these accounts that exists and is enabled (one primary-key query). */
  async function enabledVersions(names: readonly string[]): Promise<Map<string, string>> {
    if (names.length === 0) return new Map();
    const r = await pool.query<{ name: string; version: string }>(
      `SELECT name, ${VERSION} AS version FROM operators WHERE name = ANY($1::text[]) AND disabled_at IS NULL`,
      [names],
    );
    return new Map(r.rows.map((o) => [o.name, o.version]));
  }

  async function list(): Promise<Array<{ name: string; updatedAt: Date; disabled: boolean }>> {
    const r = await pool.query<{ name: string; updated_at: Date; disabled_at: Date | null }>(
      `SELECT name, updated_at, disabled_at FROM operators ORDER BY name`,
    );
    return r.rows.map((o) => ({ name: o.name, updatedAt: o.updated_at, disabled: o.disabled_at !== null }));
  }

  /** Ends the account's access at once (its signed-in sessions and open streams too, web/operators/operator-gate.ts); its decisions keep its name. */
  async function disable(name: string): Promise<boolean> {
    const r = await pool.query(
      `UPDATE operators SET disabled_at = now(), updated_at = now() WHERE name = $1 AND disabled_at IS NULL`,
      [name],
    );
    return r.rowCount === 1;
  }

  /** Names of the accounts that still sign in with the development password. */
  async function withDevPassword(): Promise<string[]> {
    const r = await pool.query<{ name: string; password_hash: string }>(
      `SELECT name, password_hash FROM operators WHERE disabled_at IS NULL`,
    );
    const weak = await Promise.all(
      r.rows.map(async (o) => ((await verifyPassword(DEV_OPERATOR.password, o.password_hash)) ? o.name : null)),
    );
    return weak.filter((n): n is string => n !== null);
  }

  async function count(): Promise<number> {
    // count(*) is a bigint, which pg returns as text; an aggregate always returns its one row.
    const r = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM operators WHERE disabled_at IS NULL`);
    return Number(r.rows[0]!.n);
  }

  /**
   * Written before the workflow is asked, so no decision goes unrecorded; returns the record's id,
   * or null (nothing written) when a decision on the order was already accepted: the order's row
   * may still say it is waiting for a moment after the workflow took one.
   */
  async function recordDecision(operator: string, orderId: string, action: "approve" | "reject"): Promise<string | null> {
    // id is a bigserial: pg returns it as text.
    const r = await pool.query<{ id: string }>(
      `INSERT INTO operator_decisions (operator, order_id, action)
       SELECT $1, $2, $3
        WHERE NOT EXISTS (SELECT 1 FROM operator_decisions WHERE order_id = $2 AND outcome = 'accepted')
       RETURNING id`,
      [operator, orderId, action],
    );
    return r.rows[0]?.id ?? null;
  }

  /**
   * An operator's cancel or "ship now", written before the workflow is asked and settled with its
   * answer like a decision: the operator is in a column, not only in the order's status text.
   */
  async function recordAction(
    operator: string,
    orderId: string,
    action: "cancel" | "dispatch",
    reason: string | null,
  ): Promise<string> {
    const r = await pool.query<{ id: string }>(
      `INSERT INTO operator_decisions (operator, order_id, action, reason) VALUES ($1, $2, $3, $4) RETURNING id`,
      [operator, orderId, action, reason],
    );
    // INSERT … RETURNING without a condition returns its one row.
    return r.rows[0]!.id;
  }

  async function settleDecision(id: string, outcome: DecisionOutcome): Promise<void> {
    await pool.query(`UPDATE operator_decisions SET outcome = $2, settled_at = now() WHERE id = $1`, [id, outcome]);
  }

  return {
    setPassword,
    authenticate,
    enabledVersions,
    list,
    disable,
    withDevPassword,
    count,
    recordDecision,
    recordAction,
    settleDecision,
  };
}
export type OperatorsRepo = ReturnType<typeof createOperatorsRepo>;
