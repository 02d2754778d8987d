/** Email campaigns and their recipients in PostgreSQL, written only by the EmailCampaign workflow. */
import type pg from "pg";
import type { CampaignInput } from "../../shared/campaign.schema.ts";
import { inTransaction } from "../../shared/pg-transaction.ts";
import { addressHash } from "../../shared/unsubscribe-link.ts";

export type CampaignContent = Pick<CampaignInput, "subject" | "body" | "format">;

export type RecipientOutcome = { status: "sent"; messageId: string } | { status: "bounced" | "failed"; error: string };

export function createCampaignsRepo(pool: pg.Pool) {
  /**
   * Stores the campaign (its body, once: each message is rendered from this row) and one row per
   * recipient: pending, or suppressed for an address that unsubscribed earlier. Returns the
   * suppressed addresses. A second call for the same id changes nothing and returns the same list.
   */
  async function create(input: CampaignInput, invocationId: string): Promise<string[]> {
    return inTransaction(pool, async (client) => {
      const hashes = input.recipients.map(addressHash);
      const suppressed = await client.query<{ addresses: string[] | null }>(
        `SELECT array_agg(r.address) AS addresses FROM unnest($1::text[], $2::text[]) AS r(address, hash)
          WHERE EXISTS (SELECT 1 FROM email_suppressions s WHERE s.address_hash = r.hash)`,
        [input.recipients, hashes],
      );
      // An aggregate without GROUP BY returns its one row (null when no address matched).
      const skipped = new Set<string>(suppressed.rows[0]!.addresses ?? []);
      const inserted = await client.query(
        `INSERT INTO email_campaigns (id, subject, body, body_format, total, invocation_id)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
        [input.campaignId, input.subject, input.body, input.format, input.recipients.length - skipped.size, invocationId],
      );
      if (inserted.rowCount === 1) {
        await client.query(
          `INSERT INTO campaign_recipients (campaign_id, address, position, status)
         SELECT $1, address, ordinality - 1, CASE WHEN address = ANY($3::text[]) THEN 'suppressed' ELSE 'pending' END
           FROM unnest($2::text[]) WITH ORDINALITY AS r(address, ordinality)`,
          [input.campaignId, input.recipients, [...skipped]],
        );
        return [...skipped];
      }
      const stored = await client.query<{ address: string }>(
        `SELECT address FROM campaign_recipients WHERE campaign_id = $1 AND status = 'suppressed' ORDER BY position`,
        [input.campaignId],
      );
      return stored.rows.map((r) => r.address);
    });
  }

  /** What every message of the campaign says, as stored when it started. */
  async function content(campaignId: string): Promise<CampaignContent | null> {
    // body_format is held to these values by the table's CHECK.
    const r = await pool.query<{ subject: string; body: string; body_format: CampaignContent["format"] }>(
      `SELECT subject, body, body_format FROM email_campaigns WHERE id = $1`,
      [campaignId],
    );
    const row = r.rows[0];
    return row ? { subject: row.subject, body: row.body, format: row.body_format } : null;
  }

  async function recordOutcome(campaignId: string, address: string, outcome: RecipientOutcome): Promise<void> {
    await pool.query(
      `UPDATE campaign_recipients SET status = $3, message_id = $4, error = $5, updated_at = now()
        WHERE campaign_id = $1 AND address = $2`,
      [
        campaignId,
        address,
        outcome.status,
        outcome.status === "sent" ? outcome.messageId : null,
        outcome.status === "sent" ? null : outcome.error.slice(0, 500),
      ],
    );
  }

  /** Ends the campaign; recipients still pending when it was cancelled are marked so. */
  async function finish(campaignId: string, status: "completed" | "cancelled"): Promise<void> {
    await inTransaction(pool, async (client) => {
      await client.query(`UPDATE email_campaigns SET status = $2, finished_at = now() WHERE id = $1`, [campaignId, status]);
      if (status === "cancelled") {
        await client.query(
          `UPDATE campaign_recipients SET status = 'cancelled', updated_at = now() WHERE campaign_id = $1 AND status = 'pending'`,
          [campaignId],
        );
      }
    });
  }

  return { create, content, recordOutcome, finish };
}
export type CampaignsRepo = ReturnType<typeof createCampaignsRepo>;
