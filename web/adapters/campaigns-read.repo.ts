/** Read-only views of email campaigns and their recipients, for pages. Writes belong to the worker. */
import type pg from "pg";

export type RecipientStatus = "pending" | "sent" | "bounced" | "failed" | "cancelled" | "suppressed";

export interface RecipientView {
  position: number;
  address: string;
  status: RecipientStatus;
  error: string | null;
}

export interface CampaignCounts {
  sent: number;
  bounced: number;
  failed: number;
  pending: number;
  cancelled: number;
  total: number;
}

export interface CampaignSummary {
  id: string;
  subject: string;
  status: "sending" | "completed" | "cancelled";
  createdAt: string;
  counts: CampaignCounts;
}

export interface CampaignView extends CampaignSummary {
  bodyFormat: "markdown" | "text";
  invocationId: string | null;
  recipients: RecipientView[];
}

const SUMMARY_SQL = `
  SELECT c.id, c.subject, c.status, c.total, c.created_at, c.body_format, c.invocation_id,
         count(*) FILTER (WHERE r.status = 'sent')::int      AS sent,
         count(*) FILTER (WHERE r.status = 'bounced')::int   AS bounced,
         count(*) FILTER (WHERE r.status = 'failed')::int    AS failed,
         count(*) FILTER (WHERE r.status = 'pending')::int   AS pending,
         count(*) FILTER (WHERE r.status = 'cancelled')::int AS cancelled
    FROM email_campaigns c LEFT JOIN campaign_recipients r ON r.campaign_id = c.id`;

/** A row of SUMMARY_SQL; `status` and `body_format` are held to these values by the table's CHECKs. */
interface SummaryRow {
  id: string;
  subject: string;
  status: CampaignSummary["status"];
  total: number;
  created_at: Date;
  body_format: CampaignView["bodyFormat"];
  invocation_id: string | null;
  sent: number;
  bounced: number;
  failed: number;
  pending: number;
  cancelled: number;
}

function summary(row: SummaryRow): CampaignSummary & Pick<CampaignView, "bodyFormat" | "invocationId"> {
  return {
    id: row.id,
    subject: row.subject,
    status: row.status,
    createdAt: row.created_at.toISOString(),
    bodyFormat: row.body_format,
    invocationId: row.invocation_id,
    counts: {
      sent: row.sent,
      bounced: row.bounced,
      failed: row.failed,
      pending: row.pending,
      cancelled: row.cancelled,
      total: row.total,
    },
  };
}

export function createCampaignsReadRepo(pool: pg.Pool) {
  /** The campaign with every recipient in send order; null until the worker has saved it. */
  async function find(id: string): Promise<CampaignView | null> {
    const c = await pool.query<SummaryRow>(`${SUMMARY_SQL} WHERE c.id = $1 GROUP BY c.id`, [id]);
    const row = c.rows[0];
    if (!row) return null;
    // The columns are the view's, by name; status is held to RecipientStatus by the table's CHECK.
    const r = await pool.query<RecipientView>(
      `SELECT position, address, status, error FROM campaign_recipients WHERE campaign_id = $1 ORDER BY position`,
      [id],
    );
    return { ...summary(row), recipients: r.rows };
  }

  /** Summaries of the given campaigns, newest first (ids a session owns). */
  async function summaries(ids: string[]): Promise<CampaignSummary[]> {
    if (ids.length === 0) return [];
    const r = await pool.query<SummaryRow>(
      `${SUMMARY_SQL} WHERE c.id = ANY($1::uuid[]) GROUP BY c.id ORDER BY c.created_at DESC`,
      [ids],
    );
    return r.rows.map(summary);
  }

  return { find, summaries };
}
export type CampaignsReadRepo = ReturnType<typeof createCampaignsReadRepo>;
