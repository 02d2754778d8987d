/** A small cookie-keeping HTTP client for driving the web app like a browser without JavaScript. */
import { SseParser, type SseEvent } from "../../scripts/lib/sse-parser.ts";

export class BrowserClient {
  private readonly cookies = new Map<string, string>();
  readonly baseUrl: string;

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl;
  }

  private remember(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const eq = pair?.indexOf("=") ?? -1;
      if (pair && eq > 0) this.cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
  }

  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  get sessionId(): string | undefined {
    return this.cookies.get("qs_session");
  }

  async request(pathname: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) headers.set("cookie", this.cookieHeader());
    const res = await fetch(new URL(pathname, this.baseUrl), { redirect: "manual", ...init, headers });
    this.remember(res);
    return res;
  }

  async get(pathname: string, headers: Record<string, string> = {}): Promise<{ status: number; html: string; res: Response }> {
    const res = await this.request(pathname, { headers });
    return { status: res.status, html: await res.text(), res };
  }

  async postForm(
    pathname: string,
    fields: Record<string, string> | Array<[string, string]>,
    headers: Record<string, string> = {},
  ) {
    const body = new URLSearchParams(fields as Record<string, string>).toString();
    const res = await this.request(pathname, {
      method: "POST",
      body,
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    });
    return { status: res.status, html: await res.text(), res };
  }

  /** Reads an SSE stream until it ends, `stopWhen` says so, `signal` aborts, or `timeoutMs` passes. */
  async sse(
    pathname: string,
    opts: {
      lastEventId?: string;
      stopWhen?: (e: SseEvent, all: SseEvent[]) => boolean;
      timeoutMs?: number;
      /** The test's own "leave the page now". */
      signal?: AbortSignal;
    } = {},
  ): Promise<{ status: number; events: SseEvent[]; ended: boolean; contentType: string | null }> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), opts.timeoutMs ?? 15_000);
    opts.signal?.addEventListener("abort", () => controller.abort(), { once: true });
    const headers: Record<string, string> = { accept: "text/event-stream" };
    if (opts.lastEventId !== undefined) headers["last-event-id"] = opts.lastEventId;
    const events: SseEvent[] = [];
    let ended = false;
    try {
      const res = await this.request(pathname, { headers, signal: controller.signal });
      if (res.status !== 200 || !res.body)
        return { status: res.status, events, ended: true, contentType: res.headers.get("content-type") };
      const parser = new SseParser();
      try {
        for await (const chunk of res.body) {
          for (const e of parser.feed(chunk)) {
            events.push(e);
            if (opts.stopWhen?.(e, events)) {
              controller.abort();
              return { status: 200, events, ended: false, contentType: res.headers.get("content-type") };
            }
          }
        }
        ended = true;
      } catch (err) {
        if (!controller.signal.aborted) throw err;
      }
      return { status: 200, events, ended, contentType: res.headers.get("content-type") };
    } finally {
      clearTimeout(timer);
    }
  }
}

export function extract(html: string, name: string): string {
  const m = new RegExp(`name="${name.replace(/[[\]]/g, "\\$&")}" value="([^"]*)"`).exec(html);
  if (!m?.[1]) throw new Error(`no ${name} field in the page`);
  return m[1];
}

export async function waitUntil<T>(
  what: string,
  fn: () => T | null | undefined | false | Promise<T | null | undefined | false>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Places an order as a person does: loads the form (its order id and CSRF token), then posts it. */
export async function postOrderForm(
  client: BrowserClient,
  opts: { email: string; quantities?: Record<string, string>; paymentMethod?: string },
): Promise<{ orderId: string; status: number; html: string }> {
  const form = await client.get("/orders/new");
  const orderId = extract(form.html, "orderId");
  const fields: Record<string, string> = {
    _csrf: extract(form.html, "_csrf"),
    orderId,
    email: opts.email,
    paymentMethod: opts.paymentMethod ?? "pm_card_visa",
  };
  for (const [sku, n] of Object.entries(opts.quantities ?? { "MUG-QUAY": "1" })) fields[`qty[${sku}]`] = n;
  const res = await client.postForm("/orders", fields);
  return { orderId, status: res.status, html: res.html };
}

type SseResult = Awaited<ReturnType<BrowserClient["sse"]>>;

/**
 * Opens an SSE stream and resolves once its first event has arrived (the web's streams send their
 * first event after they have subscribed, so live events from then on reach it); `done` is the
 * stream's end. Throws if the stream ends before any event.
 */
export async function sseOpened(
  client: BrowserClient,
  pathname: string,
  opts: Parameters<BrowserClient["sse"]>[1] = {},
): Promise<{ done: Promise<SseResult> }> {
  let arrived!: () => void;
  const first = new Promise<"first">((resolve) => (arrived = () => resolve("first")));
  const done = client.sse(pathname, {
    ...opts,
    stopWhen: (e, all) => {
      arrived();
      return opts.stopWhen?.(e, all) ?? false;
    },
  });
  const which = await Promise.race([
    first,
    done.then(
      () => "ended" as const,
      () => "ended" as const,
    ),
  ]);
  if (which !== "first") throw new Error(`${pathname}: the stream ended before its first event (${(await done).status})`);
  return { done };
}
