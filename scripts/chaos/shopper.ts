/**
 * A shopper that behaves like a browser with the order page open: it loads the form (session
 * cookie, CSRF token, order id), submits it (the same form again after a 5xx or a network error,
 * as a user pressing "Place order" again would: the order id makes that safe), then follows the
 * order's SSE stream until the `done` event, reconnecting with Last-Event-ID like EventSource does.
 * Used by the chaos run and the multi-node test; it never throws, it reports.
 */
import { setTimeout as sleep } from "node:timers/promises";

export interface ShopperOptions {
  webUrl: string;
  sku: string;
  quantity: number;
  paymentMethod: string;
  email: string;
  /** Give up (and report why) this many ms after starting. */
  deadlineMs: number;
  /** Press the cancel button this many ms after the order page opens. */
  cancelAfterMs?: number;
}

export interface ShopperOutcome {
  orderId: string | null;
  placed: boolean;
  submitAttempts: number;
  sawTerminal: boolean;
  /** Stream (re)connections after the first one. */
  reconnects: number;
  /** When the first submission was sent, and when the `done` event arrived (ms since the epoch). */
  placedAt: number;
  finishedAt: number | null;
  cancelRequested: boolean;
  error: string | null;
}

const RETRYABLE = new Set([429, 500, 502, 503, 504]);

class Session {
  private readonly cookies = new Map<string, string>();
  private readonly baseUrl: string;

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl;
  }

  async fetch(pathname: string, init: RequestInit & { timeoutMs?: number } = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) headers.set("cookie", [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    const res = await fetch(new URL(pathname, this.baseUrl), {
      redirect: "manual",
      ...init,
      headers,
      signal: init.signal ?? AbortSignal.timeout(init.timeoutMs ?? 15_000),
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const eq = pair?.indexOf("=") ?? -1;
      if (pair && eq > 0) this.cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    return res;
  }
}

function field(html: string, name: string): string | null {
  return new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1] ?? null;
}

/** Waits before the next attempt: the server's `retry:` / Retry-After hint, else a growing pause. */
function backoff(attempt: number, hintMs: number | null): Promise<void> {
  const ms = hintMs ?? Math.min(200 * 2 ** Math.min(attempt, 4), 2_000);
  return sleep(ms + Math.floor(Math.random() * 100), undefined, { ref: false });
}

export async function shop(opts: ShopperOptions): Promise<ShopperOutcome> {
  const started = Date.now();
  const deadline = started + opts.deadlineMs;
  const session = new Session(opts.webUrl);
  const out: ShopperOutcome = {
    orderId: null,
    placed: false,
    submitAttempts: 0,
    sawTerminal: false,
    reconnects: -1,
    placedAt: started,
    finishedAt: null,
    cancelRequested: false,
    error: null,
  };
  const note = (what: string) => {
    out.error = what;
  };

  // 1. The form: it carries the CSRF token and the order id this submission will use.
  let csrf: string | null = null;
  for (let attempt = 0; Date.now() < deadline && out.orderId === null; attempt++) {
    try {
      const res = await session.fetch("/orders/new");
      const html = await res.text();
      if (res.ok) {
        csrf = field(html, "_csrf");
        out.orderId = field(html, "orderId");
        if (out.orderId === null || csrf === null) return { ...out, error: "the order form has no order id or CSRF token" };
        break;
      }
      note(`GET /orders/new answered ${res.status}`);
    } catch (err) {
      note(`GET /orders/new: ${(err as Error).message}`);
    }
    await backoff(attempt, null);
  }
  if (out.orderId === null || csrf === null) return out;
  const orderId = out.orderId;

  // 2. Submit; the same form again on a server error (the order id makes a second press harmless).
  const form = new URLSearchParams({
    _csrf: csrf,
    orderId,
    email: opts.email,
    paymentMethod: opts.paymentMethod,
    [`qty[${opts.sku}]`]: String(opts.quantity),
  }).toString();
  out.placedAt = Date.now();
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    out.submitAttempts++;
    try {
      const res = await session.fetch("/orders", {
        method: "POST",
        body: form,
        headers: { "content-type": "application/x-www-form-urlencoded" },
      });
      const body = await res.text();
      if (res.status === 303) {
        out.placed = true;
        break;
      }
      if (!RETRYABLE.has(res.status)) return { ...out, error: `POST /orders answered ${res.status}: ${body.slice(0, 200)}` };
      note(`POST /orders answered ${res.status}`);
      const retryAfter = Number(res.headers.get("retry-after"));
      await backoff(attempt, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : null);
    } catch (err) {
      note(`POST /orders: ${(err as Error).message}`);
      await backoff(attempt, null);
    }
  }
  if (!out.placed) return out;

  if (opts.cancelAfterMs !== undefined) {
    const delay = opts.cancelAfterMs;
    void (async () => {
      await sleep(delay, undefined, { ref: false });
      for (let attempt = 0; attempt < 20 && Date.now() < deadline && !out.sawTerminal; attempt++) {
        try {
          const res = await session.fetch(`/orders/${orderId}/cancel`, {
            method: "POST",
            body: new URLSearchParams({ _csrf: csrf }).toString(),
            headers: { "content-type": "application/x-www-form-urlencoded" },
          });
          await res.body?.cancel();
          // 303 back to the page whether or not it was still cancellable; a 4xx is a final answer too.
          if (!RETRYABLE.has(res.status)) {
            out.cancelRequested = res.status === 303;
            return;
          }
        } catch {
          // the web or Restate is down for a moment: press again
        }
        await backoff(attempt, null);
      }
    })();
  }

  // 3. Follow the progress stream to the end, like EventSource: reconnect with the last id seen.
  let lastId: string | null = null;
  for (let attempt = 0; Date.now() < deadline && !out.sawTerminal; attempt++) {
    out.reconnects++;
    let retryHint: number | null = null;
    try {
      const headers: Record<string, string> = { accept: "text/event-stream" };
      if (lastId !== null) headers["last-event-id"] = lastId;
      const res = await session.fetch(`/orders/${orderId}/events`, {
        headers,
        signal: AbortSignal.timeout(Math.max(deadline - Date.now(), 1)),
      });
      if (res.status !== 200 || !res.body) {
        await res.body?.cancel();
        note(`GET /orders/${orderId}/events answered ${res.status}`);
        // EventSource gives up on a 4xx other than 429; a shopper who reloads would get the same.
        if (res.status >= 400 && res.status < 500 && res.status !== 429) return out;
      } else {
        const decoder = new TextDecoder();
        let buffer = "";
        for await (const chunk of res.body) {
          buffer += decoder.decode(chunk as Uint8Array, { stream: true });
          let split: number;
          while ((split = buffer.indexOf("\n\n")) >= 0) {
            const frame = buffer.slice(0, split);
            buffer = buffer.slice(split + 2);
            let event = "message";
            for (const line of frame.split("\n")) {
              if (line.startsWith("id:")) lastId = line.slice(3).trim();
              else if (line.startsWith("event:")) event = line.slice(6).trim();
              else if (line.startsWith("retry:")) retryHint = Number(line.slice(6).trim()) || null;
            }
            if (event === "done") {
              out.sawTerminal = true;
              out.finishedAt = Date.now();
            }
          }
          if (out.sawTerminal) break;
        }
        if (!out.sawTerminal) note("the progress stream ended before the terminal event");
      }
    } catch (err) {
      note(`progress stream: ${(err as Error).message}`);
    }
    if (!out.sawTerminal) await backoff(attempt, retryHint);
  }
  if (out.sawTerminal) out.error = null;
  else out.error ??= "no terminal event before the deadline";
  return out;
}
