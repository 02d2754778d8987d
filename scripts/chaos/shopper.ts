/**
 * A shopper that behaves like a browser with the order page open: it loads the form (session
 * cookie, CSRF token, order id), submits it (the same form again after a 5xx or a network error,
 * as a user pressing "Place order" again would: the order id makes that safe), then follows the
 * order's SSE stream until the `done` event, reconnecting with Last-Event-ID like EventSource does.
 * Used by the chaos run and the multi-node test; it never throws, it reports.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { SseParser } from "../lib/sse-parser.ts";

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
  /**
   * With a hosted payment page (Stripe): what the shopper does there, once the order's page shows
   * its Pay now link. "cancel" means the card was declined and the shopper gives up: they press
   * the order's cancel button.
   */
  pay?: (paymentUrl: string) => Promise<"paid" | "cancel">;
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

const PAY_LINK = /class="button pay-button" href="([^"]+)"/;

export const RETRYABLE = new Set([429, 500, 502, 503, 504]);

/** A browser's cookie jar and fetch, for one visitor. */
export class Session {
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
export function backoff(attempt: number, hintMs: number | null): Promise<void> {
  const ms = hintMs ?? Math.min(200 * 2 ** Math.min(attempt, 4), 2_000);
  return sleep(ms + Math.floor(Math.random() * 100), undefined, { ref: false });
}

/** Loads a form page until it answers, and reads the hidden fields this flow needs. */
async function loadForm(
  session: Session,
  pathname: string,
  idField: string,
  deadline: number,
  out: { error: string | null },
): Promise<{ csrf: string; id: string } | null> {
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    try {
      const res = await session.fetch(pathname);
      const html = await res.text();
      if (res.ok) {
        const csrf = field(html, "_csrf");
        const id = field(html, idField);
        if (csrf === null || id === null) {
          out.error = `${pathname} has no ${idField} or CSRF token`;
          return null;
        }
        return { csrf, id };
      }
      out.error = `GET ${pathname} answered ${res.status}`;
    } catch (err) {
      out.error = `GET ${pathname}: ${(err as Error).message}`;
    }
    await backoff(attempt, null);
  }
  return null;
}

/** Posts a form until it is accepted (303); the same form again after a 5xx or a network error. */
async function submitForm(
  session: Session,
  pathname: string,
  fields: Record<string, string>,
  deadline: number,
  out: { error: string | null; submitAttempts: number },
): Promise<boolean> {
  const body = new URLSearchParams(fields).toString();
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    out.submitAttempts++;
    try {
      const res = await session.fetch(pathname, {
        method: "POST",
        body,
        headers: { "content-type": "application/x-www-form-urlencoded" },
      });
      const text = await res.text();
      if (res.status === 303) return true;
      if (!RETRYABLE.has(res.status)) {
        out.error = `POST ${pathname} answered ${res.status}: ${text.slice(0, 200)}`;
        return false;
      }
      out.error = `POST ${pathname} answered ${res.status}`;
      const retryAfter = Number(res.headers.get("retry-after"));
      await backoff(attempt, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : null);
    } catch (err) {
      out.error = `POST ${pathname}: ${(err as Error).message}`;
      await backoff(attempt, null);
    }
  }
  return false;
}

/** Follows a progress stream to its `done` event, reconnecting with the last id seen, like EventSource. */
async function followProgress(
  session: Session,
  pathname: string,
  deadline: number,
  out: { error: string | null; sawTerminal: boolean; reconnects: number; finishedAt: number | null },
  onData: (data: string) => void = () => {},
): Promise<void> {
  let lastId = "";
  for (let attempt = 0; Date.now() < deadline && !out.sawTerminal; attempt++) {
    out.reconnects++;
    const parser = new SseParser(lastId);
    try {
      const headers: Record<string, string> = { accept: "text/event-stream" };
      if (lastId !== "") headers["last-event-id"] = lastId;
      const res = await session.fetch(pathname, { headers, signal: AbortSignal.timeout(Math.max(deadline - Date.now(), 1)) });
      if (res.status !== 200 || !res.body) {
        await res.body?.cancel();
        out.error = `GET ${pathname} answered ${res.status}`;
        // EventSource gives up on a 4xx other than 429; a person reloading the page would get the same.
        if (res.status >= 400 && res.status < 500 && res.status !== 429) return;
      } else {
        for await (const chunk of res.body) {
          for (const e of parser.feed(chunk as Uint8Array)) {
            onData(e.data);
            if (e.event === "done") {
              out.sawTerminal = true;
              out.finishedAt = Date.now();
            }
          }
          if (out.sawTerminal) break;
        }
        if (!out.sawTerminal) out.error = "the progress stream ended before the terminal event";
      }
    } catch (err) {
      out.error = `progress stream: ${(err as Error).message}`;
    }
    lastId = parser.lastEventId;
    if (!out.sawTerminal) await backoff(attempt, parser.retryMs);
  }
  if (out.sawTerminal) out.error = null;
  else out.error ??= "no terminal event before the deadline";
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
  const form = await loadForm(session, "/orders/new", "orderId", deadline, out);
  if (!form) return out;
  const { csrf, id: orderId } = form;
  out.orderId = orderId;
  out.placedAt = Date.now();
  const fields = {
    _csrf: csrf,
    orderId,
    email: opts.email,
    paymentMethod: opts.paymentMethod,
    [`qty[${opts.sku}]`]: String(opts.quantity),
  };
  out.placed = await submitForm(session, "/orders", fields, deadline, out);
  if (!out.placed) return out;

  const cancel = async () => {
    const answer = { error: null as string | null, submitAttempts: 0 };
    out.cancelRequested = await submitForm(session, `/orders/${orderId}/cancel`, { _csrf: csrf }, deadline, answer);
  };
  if (opts.cancelAfterMs !== undefined) {
    const delay = opts.cancelAfterMs;
    void (async () => {
      await sleep(delay, undefined, { ref: false });
      await cancel();
    })();
  }
  // The order page's Pay now link, as the progress panel in a stream event carries it: used once.
  let paying = false;
  const onPage = (markup: string) => {
    const link = PAY_LINK.exec(markup)?.[1];
    if (!opts.pay || paying || !link) return;
    paying = true;
    void opts.pay(link.replaceAll("&amp;", "&")).then(
      (what) => (what === "cancel" ? cancel() : undefined),
      (err: unknown) => {
        out.error = `payment page: ${(err as Error).message}`;
      },
    );
  };
  // A page whose stream missed the event (Valkey was away when it was published, and the worker
  // that held it died) shows no link: the shopper reloads the page, as a person would.
  let reloads: NodeJS.Timeout | undefined;
  if (opts.pay) {
    reloads = setInterval(() => {
      if (paying || out.sawTerminal) return;
      session.fetch(`/orders/${orderId}`).then(
        async (res) => onPage(await res.text()),
        () => undefined,
      );
    }, 5_000);
    reloads.unref();
  }
  try {
    await followProgress(session, `/orders/${orderId}/events`, deadline, out, onPage);
  } finally {
    clearInterval(reloads);
  }
  return out;
}

export interface CampaignOptions {
  webUrl: string;
  recipients: string[];
  deadlineMs: number;
}

export interface CampaignOutcome {
  campaignId: string | null;
  started: boolean;
  submitAttempts: number;
  sawTerminal: boolean;
  reconnects: number;
  finishedAt: number | null;
  error: string | null;
}

/** Someone sending an email campaign and watching its page until it is done. */
export async function sendCampaign(opts: CampaignOptions): Promise<CampaignOutcome> {
  const deadline = Date.now() + opts.deadlineMs;
  const session = new Session(opts.webUrl);
  const out: CampaignOutcome = {
    campaignId: null,
    started: false,
    submitAttempts: 0,
    sawTerminal: false,
    reconnects: -1,
    finishedAt: null,
    error: null,
  };
  const form = await loadForm(session, "/emails/new", "campaignId", deadline, out);
  if (!form) return out;
  out.campaignId = form.id;
  out.started = await submitForm(
    session,
    "/emails",
    {
      _csrf: form.csrf,
      campaignId: form.id,
      subject: "Harbour news",
      format: "markdown",
      body: "The **winter** catalogue is out.",
      recipients: opts.recipients.join("\n"),
    },
    deadline,
    out,
  );
  if (out.started) await followProgress(session, `/emails/${form.id}/events`, deadline, out);
  return out;
}
