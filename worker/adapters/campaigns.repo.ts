/** Email campaigns and their recipients in PostgreSQL, written only by the EmailCampaign workflow. */
import type pg from "pg";
import type { CampaignInput } from "../../shared/campaign.schema.ts";
import { inTransaction } from "../../shared/pg-transaction.ts";

export type RecipientOutcome = { status: "sent"; messageId: string } | { status: "bounced" | "failed"; error: string };

export function createCampaignsRepo(pool: pg.Pool) {
  /** Stores the campaign and one pending row per recipient; a second call for the same id changes nothing. */
  async function create(input: CampaignInput, invocationId: string): Promise<void> {
    await inTransaction(pool, async (client) => {
      const inserted = await client.query(
        `INSERT INTO email_campaigns (id, subject, body, body_format, total, invocation_id)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
        [input.campaignId, input.subject, input.body, input.format, input.recipients.length, invocationId],
      );
      if (inserted.rowCount === 1) {
        await client.query(
          `INSERT INTO campaign_recipients (campaign_id, address, position)
         SELECT $1, address, ordinality - 1 FROM unnest($2::text[]) WITH ORDINALITY AS r(address, ordinality)`,
          [input.campaignId, input.recipients],
        );
      }
    });
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

  return { create, recordOutcome, finish };
}
export type CampaignsRepo = ReturnType<typeof createCampaignsRepo>;
