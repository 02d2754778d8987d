/**
 * A flash sale's buyers: each places one order for one unit through the form, then follows the
 * order's stream until its terminal event, noting when it ended and the last state it showed.
 */
import { v7 as uuidv7 } from "uuid";
import { sseUntil, type WebSession } from "./http.ts";
import { postOrder, type Targets } from "./orders.scenario.ts";

export interface Buyer {
  orderId: string;
  sku: string;
  /** performance.now() when its stream ended, and what the stream's last state said. */
  endedAt?: number;
  step?: string;
  message?: string;
  latencyMs?: number;
}

export interface BuyersLoad {
  /** performance.now() and the wall clock at the first POST. */
  started: number;
  firstPostWall: number;
  /** Buyers whose POST or stream failed, and the first reason. */
  errors: number;
  firstError?: string;
}

const STREAM_TIMEOUT_MS = 180_000;

/** `count` buyers, each with its own order id, round-robin over `skus`. */
export function newBuyers(count: number, skus: string[]): Buyer[] {
  return Array.from({ length: count }, (_, i) => ({ orderId: uuidv7(), sku: skus[i % skus.length]! }));
}

/** One buyer per session at a time: each session takes the next buyer not yet served until none is left. */
export async function buyAll(t: Targets, sessions: WebSession[], buyers: Buyer[]): Promise<BuyersLoad> {
  const firstPostWall = Date.now();
  const started = performance.now();
  let errors = 0;
  let firstError: string | undefined;
  let next = 0;
  await Promise.all(
    sessions.map(async (s) => {
      for (let i = next++; i < buyers.length; i = next++) {
        try {
          await buy(t, s, buyers[i]!);
        } catch (err) {
          errors++;
          firstError ??= err instanceof Error ? err.message : String(err);
        }
      }
    }),
  );
  return { started, firstPostWall, errors, ...(firstError ? { firstError } : {}) };
}

async function buy(t: Targets, s: WebSession, b: Buyer): Promise<void> {
  const posted = performance.now();
  await postOrder(t, s, b.sku, b.orderId);
  const last = await followOrder(t, s, b.orderId);
  b.endedAt = performance.now();
  b.latencyMs = b.endedAt - posted;
  Object.assign(b, panelState(last ?? ""));
}

/** Reads the order's stream up to its terminal event; the last progress frame (null: none came). */
async function followOrder(t: Targets, s: WebSession, orderId: string): Promise<string | null> {
  let last: string | null = null;
  const done = await sseUntil(
    `${t.webUrl}/orders/${orderId}/events`,
    { cookie: s.cookie },
    (e) => {
      if (e.event === "done") return true;
      if (e.event === "progress") last = e.data;
      return false;
    },
    STREAM_TIMEOUT_MS,
  );
  if (!done) throw new Error(`the stream of ${orderId} ended without a terminal event`);
  return last;
}

const ENTITIES: Record<string, string> = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'", "&#96;": "`" };
const unescape = (s: string) => s.replace(/&(?:amp|lt|gt|quot|#39|#96);/g, (e) => ENTITIES[e] ?? e);

/** The step and message of the order's progress panel as a progress frame renders it. */
function panelState(data: string): { step?: string; message?: string } {
  const step = /class="progress-panel[^"]*"[^>]*data-step="([^"]*)"/.exec(data)?.[1];
  const message = /<p class="progress-message"[^>]*>(?:<strong>[^<]*<\/strong>)?\s*([^<]*)<\/p>/.exec(data)?.[1];
  return { ...(step !== undefined ? { step } : {}), ...(message !== undefined ? { message: unescape(message).trim() } : {}) };
}
