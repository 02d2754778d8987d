/** A lean HTTP client for the bench (node:http, keep-alive): the same client code for our app and for raw Restate. */
import http from "node:http";
import { SseParser, type SseEvent } from "../lib/sse-parser.ts";

export const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export function request(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? "GET", headers: opts.headers, agent }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on("error", reject);
    });
    req.setTimeout(opts.timeoutMs ?? 30_000, () => req.destroy(new Error(`timeout: ${url}`)));
    req.on("error", reject);
    req.end(opts.body);
  });
}

/** Reads an SSE response until an event matches `until` (resolves true) or the stream ends (false). */
export function sseUntil(
  url: string,
  headers: Record<string, string>,
  until: (e: SseEvent) => boolean,
  timeoutMs = 60_000,
): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { accept: "text/event-stream", ...headers }, agent }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return reject(new Error(`SSE ${url} answered ${res.statusCode}`));
      }
      const parser = new SseParser();
      let matched = false;
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        if (matched) return;
        for (const e of parser.feed(chunk))
          if (until(e)) {
            matched = true;
            clearTimeout(timer);
            resolve(true);
            return;
          }
      });
      res.on("end", () => {
        clearTimeout(timer);
        resolve(matched);
      });
      res.on("error", reject);
    });
    const timer = setTimeout(() => req.destroy(new Error(`SSE ${url}: nothing after ${timeoutMs} ms`)), timeoutMs);
    req.on("error", reject);
  });
}

/** A form-posting browser session: the cookie and CSRF token from `GET /orders/new`. */
export interface WebSession {
  cookie: string;
  csrf: string;
}

export async function newSession(baseUrl: string): Promise<WebSession> {
  const res = await request(`${baseUrl}/orders/new`);
  if (res.status !== 200) throw new Error(`GET /orders/new answered ${res.status}`);
  const cookie = (res.headers["set-cookie"] ?? []).map((c) => c.split(";")[0]).join("; ");
  const csrf = /name="_csrf" value="([^"]+)"/.exec(res.body)?.[1];
  if (!cookie || !csrf) throw new Error("no session cookie or CSRF token on /orders/new");
  return { cookie, csrf };
}
