/** The unsubscribe list, written by the web's one-click route; the worker reads it per campaign. */
import type pg from "pg";

export function createSuppressionsRepo(pool: pg.Pool) {
  /** Records that the address with this hash unsubscribed; a repeat changes nothing. */
  async function suppress(addressHash: string, campaignId: string): Promise<void> {
    await pool.query(
      `INSERT INTO email_suppressions (address_hash, campaign_id) VALUES ($1, $2) ON CONFLICT (address_hash) DO NOTHING`,
      [addressHash, campaignId],
    );
  }
  return { suppress };
}
export type SuppressionsRepo = ReturnType<typeof createSuppressionsRepo>;
