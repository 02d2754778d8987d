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

/** A `content_jobs` row as pg returns it (text[] as an array, numeric as text, timestamptz as Date). */
interface ContentJobRow {
  id: string;
  product_name: string;
  details: string;
  languages: string[];
  provider: string;
  model: string;
  /** Checked by the table's CHECK and again here, where it becomes the page's type. */
  status: string;
  status_reason: string | null;
  description: string | null;
  input_tokens: number;
  output_tokens: number;
  estimated_cost_cents: string;
  invocation_id: string | null;
  created_at: Date;
}
type SummaryRow = Pick<
  ContentJobRow,
  "id" | "product_name" | "languages" | "provider" | "model" | "status" | "status_reason" | "created_at"
>;

function summary(row: SummaryRow): ContentJobSummary {
  return {
    id: row.id,
    productName: row.product_name,
    languages: row.languages,
    provider: row.provider,
    model: row.model,
    status: contentJobStatusSchema.parse(row.status),
    statusReason: row.status_reason,
    createdAt: row.created_at.toISOString(),
  };
}

export function createContentJobsReadRepo(pool: pg.Pool) {
  async function find(id: string): Promise<ContentJobView | null> {
    const r = await pool.query<ContentJobRow>(`SELECT * FROM content_jobs WHERE id = $1`, [id]);
    const row = r.rows[0];
    if (!row) return null;
    const t = await pool.query<{ language: string; text: string }>(
      `SELECT language, text FROM content_translations WHERE job_id = $1 ORDER BY language`,
      [id],
    );
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
    const r = await pool.query<SummaryRow>(
      `SELECT id, product_name, languages, provider, model, status, status_reason, created_at
         FROM content_jobs WHERE id = ANY($1::uuid[]) ORDER BY created_at DESC`,
      [ids],
    );
    return r.rows.map(summary);
  }

  return { find, list };
}
export type ContentJobsReadRepo = ReturnType<typeof createContentJobsReadRepo>;
