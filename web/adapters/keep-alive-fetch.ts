/**
 * The `fetch` the Restate ingress client is given (its documented `fetch` option): a request over
 * node:http with a keep-alive agent, answered by a small Response that holds the body as one buffer.
 *
 * Why: the ingress client sends small JSON requests and reads small JSON answers. Through the
 * global fetch, each one built WHATWG Request, Headers and ReadableStream objects on both sides;
 * the web's profile under form ingest had a fifth of its busy time inside that machinery
 * (docs/performance.md, form ingest). The client needs `ok`, `status`, `headers`, `text()` and
 * `arrayBuffer()` of a response, and honours a timeout through the request's AbortSignal.
 */
import http from "node:http";
import https from "node:https";

/** A complete response: status, headers and the whole body, read before it is handed over. */
class BufferedResponse {
  readonly status: number;
  readonly statusText: string;
  private readonly rawHeaders: http.IncomingHttpHeaders;
  private readonly body: Buffer;
  private parsedHeaders: Headers | null = null;

  constructor(res: http.IncomingMessage, body: Buffer) {
    this.status = res.statusCode ?? 0;
    this.statusText = res.statusMessage ?? "";
    this.rawHeaders = res.headers;
    this.body = body;
  }

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  /** Built only when read (the client reads it on errors, for Retry-After). */
  get headers(): Headers {
    if (!this.parsedHeaders) {
      const h = new Headers();
      for (const [name, value] of Object.entries(this.rawHeaders)) {
        if (Array.isArray(value)) for (const v of value) h.append(name, v);
        else if (value !== undefined) h.set(name, value);
      }
      this.parsedHeaders = h;
    }
    return this.parsedHeaders;
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    const { buffer, byteOffset, byteLength } = this.body;
    return Promise.resolve(buffer.slice(byteOffset, byteOffset + byteLength) as ArrayBuffer);
  }

  text(): Promise<string> {
    return Promise.resolve(this.body.toString("utf8"));
  }

  json(): Promise<unknown> {
    return Promise.resolve(JSON.parse(this.body.toString("utf8")));
  }
}

function headerRecord(headers: RequestInit["headers"]): Record<string, string> {
  if (!headers) return {};
  if (headers instanceof Headers) return Object.fromEntries(headers.entries());
  if (Array.isArray(headers)) return Object.fromEntries(headers);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name] = value;
  return out;
}

function bodyOf(body: RequestInit["body"]): string | Uint8Array | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === "string" || body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  throw new TypeError("keep-alive fetch sends string or byte bodies only");
}

export interface KeepAliveFetchOptions {
  /** Sockets per origin, as for any agent; requests beyond it wait for a free one. */
  maxSockets?: number;
}

export function createKeepAliveFetch(opts: KeepAliveFetchOptions = {}): typeof fetch {
  const agentOpts = { keepAlive: true, maxSockets: opts.maxSockets ?? 256, scheduling: "lifo" as const };
  const agents = { "http:": new http.Agent(agentOpts), "https:": new https.Agent(agentOpts) };

  const keepAliveFetch = (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    if (input instanceof Request) return Promise.reject(new TypeError("keep-alive fetch takes a URL, not a Request"));
    const url = typeof input === "string" ? new URL(input) : input;
    const agent = agents[url.protocol as keyof typeof agents];
    if (!agent) return Promise.reject(new TypeError(`keep-alive fetch cannot reach ${url.protocol} URLs`));
    const transport = url.protocol === "https:" ? https : http;
    return new Promise<Response>((resolve, reject) => {
      const req = transport.request(
        url,
        {
          method: init.method ?? "GET",
          headers: headerRecord(init.headers),
          agent,
          ...(init.signal ? { signal: init.signal } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.once("end", () => resolve(new BufferedResponse(res, Buffer.concat(chunks)) as unknown as Response));
          res.once("error", reject);
        },
      );
      req.once("error", reject);
      req.end(bodyOf(init.body));
    });
  };
  return keepAliveFetch;
}
