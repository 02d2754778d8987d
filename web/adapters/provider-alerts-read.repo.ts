/**
 * Read-only: what the worker counted in `provider_alerts` (migration 018) lately, for the banner on
 * the operator pages. A quiet quarter of an hour ends the banner: the problem is fixed, or nothing
 * has asked the provider since. The pages must render whatever the table does, so `active` never
 * rejects: a failed read is logged and shows no banner.
 */
import type pg from "pg";
import type { Logger } from "../../shared/logger.ts";

export interface ProviderAlert {
  provider: string;
  kind: string;
  status: number;
  /** The provider's own words for the latest refusal (key-like strings were removed when stored). */
  message: string;
  count: number;
  /** ISO 8601, from the database's clock. */
  firstAt: string;
  lastAt: string;
}

const RECENT = `
  SELECT provider, kind, status, message, count, first_at, last_at
    FROM provider_alerts
   WHERE last_at > now() - interval '15 minutes'
   ORDER BY last_at DESC`;

export function createProviderAlertsReadRepo(pool: pg.Pool) {
  return {
    /** Alerts whose last report is recent; none when they cannot be read (`log` says why). */
    async active(log: Logger): Promise<ProviderAlert[]> {
      try {
        const r = await pool.query<{
          provider: string;
          kind: string;
          status: number;
          message: string;
          count: string;
          first_at: Date;
          last_at: Date;
        }>(RECENT);
        return r.rows.map((row) => ({
          provider: row.provider,
          kind: row.kind,
          status: row.status,
          message: row.message,
          count: Number(row.count),
          firstAt: row.first_at.toISOString(),
          lastAt: row.last_at.toISOString(),
        }));
      } catch (err) {
        log.warn({ err }, "could not read provider alerts: the operator pages show none");
        return [];
      }
    },
  };
}
export type ProviderAlertsReadRepo = ReturnType<typeof createProviderAlertsReadRepo>;
