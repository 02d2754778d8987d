/**
 * A local model provider that speaks the real wire protocols, so the official SDKs and our
 * adapters run unchanged against it: OpenAI `POST /v1/chat/completions` and Anthropic
 * `POST /v1/messages`, each as JSON or as a `stream: true` SSE response. Tests script replies per
 * task (429 with Retry-After, 500, 401, refusals, slow answers), can switch on a sliding-window
 * rate limit, and count what arrived.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

export type FakeRoute = "openai" | "anthropic";
export type FakeTask = "describe" | "translate";

export interface FakeReply {
  status?: number;
  retryAfterSeconds?: number;
  /** Wait this long before answering (a slow model). */
  delayMs?: number;
  /** Answer only once this settles: a request held until the test releases it. */
  heldUntil?: Promise<unknown>;
  text?: string;
  refusal?: boolean;
}

export interface FakeRequest {
  route: FakeRoute;
  task: FakeTask;
  stream: boolean;
  status: number;
  at: number;
  prompt: string;
  model: string;
  apiKey: string;
}

const field = (prompt: string, name: string) => new RegExp(`^${name}: (.*)$`, "m").exec(prompt)?.[1]?.trim() ?? "";

export class FakeLlmServer {
  readonly requests: FakeRequest[] = [];
  /** What a description request answers when nothing is scripted; `{product}` is replaced. */
  describeText = "{product}: a handsome, sturdy thing for everyday use. It is made with care and built to last for years.";
  chunkDelayMs = 5;
  rateLimit: { max: number; windowMs: number } | null = null;
  private readonly queues: Record<FakeTask, FakeReply[]> = { describe: [], translate: [] };
  private readonly server: http.Server;
  url = "";

  constructor() {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch(() => res.destroy());
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  get openaiBaseUrl(): string {
    return `${this.url}/v1`;
  }

  enqueue(task: FakeTask, ...replies: FakeReply[]): void {
    this.queues[task].push(...replies);
  }

  reset(): void {
    this.queues.describe.length = 0;
    this.queues.translate.length = 0;
    this.rateLimit = null;
  }

  /** Requests matching every given field (`product` matches the description's or the source text). */
  count(filter: Partial<Pick<FakeRequest, "route" | "task" | "status" | "stream">> & { contains?: string } = {}): number {
    return this.matching(filter).length;
  }

  matching(
    filter: Partial<Pick<FakeRequest, "route" | "task" | "status" | "stream">> & { contains?: string } = {},
  ): FakeRequest[] {
    return this.requests.filter(
      (r) =>
        (filter.route === undefined || r.route === filter.route) &&
        (filter.task === undefined || r.task === filter.task) &&
        (filter.status === undefined || r.status === filter.status) &&
        (filter.stream === undefined || r.stream === filter.stream) &&
        (filter.contains === undefined || r.prompt.includes(filter.contains)),
    );
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const route: FakeRoute | null =
      req.method === "POST" && req.url?.startsWith("/v1/chat/completions")
        ? "openai"
        : req.method === "POST" && req.url?.startsWith("/v1/messages")
          ? "anthropic"
          : null;
    if (!route) {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: "not found" } }));
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
      model: string;
      stream?: boolean;
      system?: string;
      messages: Array<{ role: string; content: string }>;
    };
    const prompt = body.messages.map((m) => m.content).join("\n");
    const task: FakeTask = field(prompt, "Target language") ? "translate" : "describe";
    const auth = req.headers["x-api-key"] ?? req.headers.authorization?.replace(/^Bearer /, "") ?? "";
    const record: FakeRequest = {
      route,
      task,
      stream: body.stream === true,
      status: 200,
      at: Date.now(),
      prompt,
      model: body.model,
      apiKey: String(auth),
    };
    this.requests.push(record);

    if (this.rateLimit) {
      const since = record.at - this.rateLimit.windowMs;
      const recent = this.requests.filter((r) => r !== record && r.status !== 429 && r.at > since).length;
      if (recent >= this.rateLimit.max) return this.fail(res, record, 429, 1);
    }
    const reply = this.queues[task].shift() ?? {};
    if (reply.delayMs) await sleep(reply.delayMs);
    if (reply.heldUntil) await reply.heldUntil;
    if (reply.status && reply.status !== 200) return this.fail(res, record, reply.status, reply.retryAfterSeconds);

    const text =
      reply.text ??
      (task === "describe"
        ? this.describeText.replace("{product}", field(prompt, "Product"))
        : `[${field(prompt, "Target language")}] ${prompt.split("\n---\n")[1] ?? ""}`);
    const usage = { input: Math.ceil(((body.system ?? "").length + prompt.length) / 4), output: text.split(/\s+/).length };
    if (route === "openai") await this.openai(res, body.model, text, usage, record.stream, reply.refusal === true);
    else await this.anthropic(res, body.model, text, usage, record.stream, reply.refusal === true);
  }

  private fail(res: http.ServerResponse, record: FakeRequest, status: number, retryAfter?: number): void {
    record.status = status;
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (retryAfter !== undefined) headers["retry-after"] = String(retryAfter);
    const kind =
      status === 401
        ? "authentication_error"
        : status === 429
          ? "rate_limit_error"
          : status >= 500
            ? "api_error"
            : "invalid_request_error";
    const message = `fake ${status}`;
    const body =
      record.route === "openai"
        ? { error: { message, type: kind, param: null, code: status === 401 ? "invalid_api_key" : null } }
        : { type: "error", error: { type: kind, message } };
    res.writeHead(status, headers).end(JSON.stringify(body));
  }

  private pieces(text: string): string[] {
    return text.match(/.{1,12}/gs) ?? [];
  }

  private async sse(res: http.ServerResponse, frames: Array<{ event?: string; data: unknown }>): Promise<void> {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    for (const f of frames) {
      if (res.destroyed) return;
      res.write(
        `${f.event ? `event: ${f.event}\n` : ""}data: ${typeof f.data === "string" ? f.data : JSON.stringify(f.data)}\n\n`,
      );
      await sleep(this.chunkDelayMs);
    }
    res.end();
  }

  private async openai(
    res: http.ServerResponse,
    model: string,
    text: string,
    u: { input: number; output: number },
    stream: boolean,
    refusal: boolean,
  ) {
    const id = `chatcmpl-${this.requests.length}`;
    const usage = { prompt_tokens: u.input, completion_tokens: u.output, total_tokens: u.input + u.output };
    const finish = refusal ? "content_filter" : "stop";
    if (!stream) {
      const message = { role: "assistant", content: refusal ? null : text, refusal: null };
      res.writeHead(200, { "content-type": "application/json" }).end(
        JSON.stringify({
          id,
          object: "chat.completion",
          created: 1,
          model,
          choices: [{ index: 0, message, finish_reason: finish, logprobs: null }],
          usage,
        }),
      );
      return;
    }
    const chunk = (delta: object, finish_reason: string | null) => ({
      id,
      object: "chat.completion.chunk",
      created: 1,
      model,
      choices: [{ index: 0, delta, finish_reason, logprobs: null }],
    });
    await this.sse(res, [
      { data: chunk({ role: "assistant", content: "" }, null) },
      ...(refusal ? [] : this.pieces(text).map((p) => ({ data: chunk({ content: p }, null) }))),
      { data: chunk({}, finish) },
      { data: { id, object: "chat.completion.chunk", created: 1, model, choices: [], usage } },
      { data: "[DONE]" },
    ]);
  }

  private async anthropic(
    res: http.ServerResponse,
    model: string,
    text: string,
    u: { input: number; output: number },
    stream: boolean,
    refusal: boolean,
  ) {
    const id = `msg_${this.requests.length}`;
    const stop = refusal ? "refusal" : "end_turn";
    if (!stream) {
      res.writeHead(200, { "content-type": "application/json" }).end(
        JSON.stringify({
          id,
          type: "message",
          role: "assistant",
          model,
          content: refusal ? [] : [{ type: "text", text }],
          stop_reason: stop,
          stop_sequence: null,
          usage: { input_tokens: u.input, output_tokens: u.output },
        }),
      );
      return;
    }
    const message = {
      id,
      type: "message",
      role: "assistant",
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: u.input, output_tokens: 1 },
    };
    await this.sse(res, [
      { event: "message_start", data: { type: "message_start", message } },
      {
        event: "content_block_start",
        data: { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
      },
      { event: "ping", data: { type: "ping" } },
      ...(refusal ? [] : this.pieces(text)).map((p) => ({
        event: "content_block_delta",
        data: { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: p } },
      })),
      { event: "content_block_stop", data: { type: "content_block_stop", index: 0 } },
      {
        event: "message_delta",
        data: { type: "message_delta", delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: u.output } },
      },
      { event: "message_stop", data: { type: "message_stop" } },
    ]);
  }
}

export async function startFakeLlm(): Promise<FakeLlmServer> {
  return new FakeLlmServer().start();
}
