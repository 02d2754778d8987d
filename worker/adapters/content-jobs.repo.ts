/** Content jobs in PostgreSQL. Every write is keyed by the job id (and language), so a replayed step is a no-op. */
import type pg from "pg";
import type { ContentJobInput } from "../../shared/content-job.schema.ts";
import { inTransaction } from "../../shared/pg-transaction.ts";

export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

export interface StoredTranslation extends Usage {
  language: string;
  text: string;
}

export function createContentJobsRepo(pool: pg.Pool) {
  async function create(input: ContentJobInput, provider: string, model: string, invocationId: string): Promise<void> {
    await pool.query(
      `INSERT INTO content_jobs (id, product_name, details, languages, provider, model, invocation_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
      [input.jobId, input.productName, input.details, input.languages, provider, model, invocationId],
    );
  }

  async function saveDescription(id: string, text: string, model: string, usage: Usage, costCents: number): Promise<void> {
    // Usage is set, not added: the description is the job's first model call.
    await pool.query(
      `UPDATE content_jobs SET description = $2, model = $3, input_tokens = $4, output_tokens = $5,
         estimated_cost_cents = $6, updated_at = now() WHERE id = $1`,
      [id, text, model, usage.inputTokens, usage.outputTokens, costCents],
    );
  }

  /** Stores every translation and the job's totals in one transaction, then marks it completed. */
  async function complete(id: string, translations: StoredTranslation[], total: Usage, costCents: number): Promise<void> {
    await inTransaction(pool, async (client) => {
      for (const t of translations) {
        await client.query(
          `INSERT INTO content_translations (job_id, language, text, input_tokens, output_tokens)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (job_id, language) DO UPDATE SET text = EXCLUDED.text,
           input_tokens = EXCLUDED.input_tokens, output_tokens = EXCLUDED.output_tokens`,
          [id, t.language, t.text, t.inputTokens, t.outputTokens],
        );
      }
      await client.query(
        `UPDATE content_jobs SET status = 'completed', status_reason = NULL, input_tokens = $2, output_tokens = $3,
         estimated_cost_cents = $4, updated_at = now() WHERE id = $1`,
        [id, total.inputTokens, total.outputTokens, costCents],
      );
    });
  }

  async function fail(id: string, reason: string): Promise<void> {
    await pool.query(`UPDATE content_jobs SET status = 'failed', status_reason = $2, updated_at = now() WHERE id = $1`, [
      id,
      reason,
    ]);
  }

  return { create, saveDescription, complete, fail };
}

export type ContentJobsRepo = ReturnType<typeof createContentJobsRepo>;
