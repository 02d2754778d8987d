/**
 * Problems with a provider that operators must fix themselves (Stripe refusing our key), counted
 * in `provider_alerts` (migration 018) for the operator pages' banner. One row per provider and
 * kind; each report bumps its count and time in one statement, so workers reporting at once
 * never lose a count.
 */
import type pg from "pg";

export interface ProviderAlertReport {
  provider: string;
  kind: string;
  status: number;
  message: string;
}

/** After this long without a report, the next one starts the count again: a new spell, not the old one. */
const QUIET_SPELL = "1 hour";

/** The column's limit (migration 018). */
const MAX_MESSAGE = 500;

// Stripe masks most of a key it quotes ("sk_test_****1234"); none of it is stored all the same.
const KEY_LIKE = /\b(?:sk|rk|pk)_(?:test|live)_[A-Za-z0-9*]*/g;

const UPSERT = `
  INSERT INTO provider_alerts AS a (provider, kind, status, message, count, first_at, last_at)
  VALUES ($1, $2, $3, $4, 1, now(), now())
  ON CONFLICT (provider, kind) DO UPDATE SET
    status = EXCLUDED.status,
    message = EXCLUDED.message,
    count = CASE WHEN a.last_at < now() - $5::interval THEN 1 ELSE a.count + 1 END,
    first_at = CASE WHEN a.last_at < now() - $5::interval THEN now() ELSE a.first_at END,
    last_at = now()`;

export function createProviderAlertsRepo(pool: pg.Pool) {
  return {
    async report(r: ProviderAlertReport): Promise<void> {
      const message = r.message.replace(KEY_LIKE, "[key]").slice(0, MAX_MESSAGE);
      await pool.query(UPSERT, [r.provider, r.kind, r.status, message, QUIET_SPELL]);
    },
  };
}
