/** Content jobs as the web reads them: one job with its translations, or a session's list. */
import type pg from "pg";
import { contentJobStatusSchema, type ContentJobStatus } from "../../shared/content-job.schema.ts";

export interface ContentJobSummary {
  id: string;
  productName: string;
  languages: string[];
  provider: string;
  model: string;
  status: ContentJobStatus;
  statusReason: string | null;
  createdAt: string;
}

export interface ContentJobView extends ContentJobSummary {
  details: string;
  description: string | null;
  inputTokens: number;
  outputTokens: number;
  estimatedCostCents: number;
  invocationId: string | null;
  translations: Array<{ language: string; text: string }>;
}

function summary(row: Record<string, unknown>): ContentJobSummary {
  return {
    id: String(row.id),
    productName: String(row.product_name),
    languages: Array.isArray(row.languages) ? row.languages.map(String) : [],
    provider: String(row.provider),
    model: String(row.model),
    status: contentJobStatusSchema.parse(row.status),
    statusReason: typeof row.status_reason === "string" ? row.status_reason : null,
    createdAt: new Date(String(row.created_at)).toISOString(),
  };
}

export function createContentJobsReadRepo(pool: pg.Pool) {
  async function find(id: string): Promise<ContentJobView | null> {
    const r = await pool.query(`SELECT * FROM content_jobs WHERE id = $1`, [id]);
    const row = r.rows[0];
    if (!row) return null;
    const t = await pool.query(`SELECT language, text FROM content_translations WHERE job_id = $1 ORDER BY language`, [id]);
    return {
      ...summary(row),
      details: row.details,
      description: row.description,
      inputTokens: row.input_tokens,
      outputTokens: row.output_tokens,
      estimatedCostCents: Number(row.estimated_cost_cents),
      invocationId: row.invocation_id,
      translations: t.rows.map((x) => ({ language: x.language, text: x.text })),
    };
  }

  /** The jobs with these ids, newest first. */
  async function list(ids: string[]): Promise<ContentJobSummary[]> {
    if (ids.length === 0) return [];
    const r = await pool.query(
      `SELECT id, product_name, languages, provider, model, status, status_reason, created_at
         FROM content_jobs WHERE id = ANY($1::uuid[]) ORDER BY created_at DESC`,
      [ids],
    );
    return r.rows.map(summary);
  }

  return { find, list };
}
export type ContentJobsReadRepo = ReturnType<typeof createContentJobsReadRepo>;
