/**
 * ContentGeneration through real restate-server, PostgreSQL and Valkey, with the worker as its own
 * process and the model providers faked at the wire (the real SDKs run). Asserts what an operator
 * would check: rows, how many requests reached the provider, and the progress stream.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { v7 as uuidv7 } from "uuid";
import type { ContentLanguage } from "../shared/content-job.schema.ts";
import { streamKey } from "../shared/progress-event.ts";
import { createContentClient } from "../web/adapters/content-client.ts";
import { waitUntil } from "./helpers/browser-client.ts";
import { startFakeLlm, type FakeLlmServer } from "./helpers/fake-llm-server.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";

describe("content generation workflow", () => {
  let stack: TestStack;
  let fake: FakeLlmServer;
  let content: ReturnType<typeof createContentClient>;
  let redis: Redis;

  before(async () => {
    fake = await startFakeLlm();
    stack = await startTestStack("content-workflow", { env: openai() });
    workerSettings = JSON.stringify(openai());
    content = createContentClient({ ingressUrl: stack.services.restate.ingressUrl });
    redis = new Redis(stack.services.valkeyUrl, { maxRetriesPerRequest: 1 });
  });
  after(async () => {
    redis?.disconnect();
    await stack?.stop();
    await fake?.close();
  });

  /** The worker's model settings as the stack started it. */
  const openai = (): NodeJS.ProcessEnv => ({
    LLM_PROVIDER: "openai",
    LLM_MODEL: "gpt-4.1-mini",
    LLM_BASE_URL: fake.openaiBaseUrl,
    OPENAI_API_KEY: "sk-test",
  });
  /** Anthropic, paced to one request a second with a burst of one. */
  const anthropicPaced = (): NodeJS.ProcessEnv => ({
    LLM_PROVIDER: "anthropic",
    LLM_MODEL: "claude-haiku-4-5",
    LLM_BASE_URL: fake.url,
    ANTHROPIC_API_KEY: "sk-ant-test",
    LLM_REQUESTS_PER_MINUTE: "60",
    LLM_BURST_SECONDS: "1",
  });
  let workerSettings = "";

  /**
   * Each test names the model settings it needs; the worker is restarted only when they differ
   * from what it runs with, so a test never depends on what an earlier one left behind.
   */
  async function useWorker(env: NodeJS.ProcessEnv) {
    const wanted = JSON.stringify(env);
    if (wanted === workerSettings) return;
    await stack.worker?.kill(); // nothing is in flight; a graceful stop waits for Restate's idle connections
    for (const k of Object.keys(stack.env)) if (k.startsWith("LLM_") || k.endsWith("_API_KEY")) delete stack.env[k];
    Object.assign(stack.env, env);
    await stack.startWorker();
    workerSettings = wanted;
  }

  async function run(productName: string, languages: ContentLanguage[] = []) {
    const jobId = uuidv7();
    await content.submit({ jobId, productName, details: `details of ${productName}`, languages });
    const res = await fetch(`${stack.services.restate.ingressUrl}/restate/workflow/ContentGeneration/${jobId}/attach`);
    return { jobId, status: res.status, body: await res.text() };
  }
  const job = async (id: string) => (await stack.db.query("SELECT * FROM content_jobs WHERE id = $1", [id])).rows[0];
  const translations = async (id: string) =>
    (await stack.db.query("SELECT language, text FROM content_translations WHERE job_id = $1 ORDER BY language", [id])).rows;

  it("OpenAI: describes, translates in parallel, stores text, usage and cost; tokens stream as progress", async () => {
    await useWorker(openai());
    fake.reset();
    fake.chunkDelayMs = 60;
    const r = await run("Harbour lamp", ["fr", "de"]);
    fake.chunkDelayMs = 5;
    assert.equal(r.status, 200, r.body);
    const out = JSON.parse(r.body);
    assert.equal(out.status, "completed");
    const row = await job(r.jobId);
    assert.equal(row.status, "completed");
    assert.equal(row.provider, "openai");
    assert.equal(row.model, "gpt-4.1-mini");
    assert.match(row.description, /^Harbour lamp: a handsome, sturdy thing/);
    assert.deepEqual(row.languages, ["fr", "de"]);
    assert.ok(row.input_tokens > 0 && row.output_tokens > 0);
    assert.ok(Number(row.estimated_cost_cents) > 0, "a priced model has a cost estimate");
    assert.deepEqual(
      (await translations(r.jobId)).map((t) => [t.language, t.text]),
      [
        ["de", `[German] ${row.description}`],
        ["fr", `[French] ${row.description}`],
      ],
    );
    assert.equal(fake.count({ task: "describe", contains: "Harbour lamp", stream: true }), 1);
    assert.equal(fake.count({ task: "translate", contains: "Harbour lamp", stream: false }), 2);

    // Step events every SEQ_BLOCK; streamed text in between; seq strictly increasing.
    const entries = await redis.xrange(streamKey({ kind: "content", id: r.jobId }), "-", "+");
    const events = entries.map(([, f]) => JSON.parse(f[1] ?? "{}"));
    const seqs = events.map((e) => e.seq as number);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
    );
    assert.equal(new Set(seqs).size, seqs.length);
    const texts = events.filter((e) => e.kind === "text" && e.step === "writing");
    assert.ok(texts.length >= 2, `streamed text events (${texts.length})`);
    assert.ok(row.description.startsWith(texts.at(-1).data.text.trim().slice(0, 20)));
    const described = events.find((e) => e.step === "described");
    assert.equal(described.data.text, row.description, "the step after streaming carries the durable text");
    assert.equal(events.at(-1).kind, "terminal");
    assert.equal(events.at(-1).status, "succeeded");
    const status = await content.status(r.jobId);
    assert.equal(status.seq, events.at(-1).seq);
  });

  it("429 with Retry-After: waits as told, then completes", async () => {
    await useWorker(openai());
    fake.reset();
    fake.enqueue("describe", { status: 429, retryAfterSeconds: 1 });
    const r = await run("Rope coaster");
    assert.equal(r.status, 200, r.body);
    const calls = fake.matching({ task: "describe", contains: "Rope coaster" });
    assert.deepEqual(
      calls.map((c) => c.status),
      [429, 200],
    );
    assert.ok(calls[1]!.at - calls[0]!.at >= 950, `retried after ${calls[1]!.at - calls[0]!.at} ms, not before Retry-After`);
    assert.equal((await job(r.jobId)).status, "completed");
  });

  it("500s are retried with backoff, then the job completes", async () => {
    await useWorker(openai());
    fake.reset();
    fake.enqueue("translate", { status: 500 }, { status: 502 });
    const r = await run("Knot book", ["it"]);
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(
      fake.matching({ task: "translate", contains: "Knot book" }).map((c) => c.status),
      [500, 502, 200],
    );
  });

  it("401 fails the job at once with a clear reason, without retrying", async () => {
    await useWorker(openai());
    fake.reset();
    fake.enqueue("describe", { status: 401 });
    const r = await run("Anchor tee", ["fr"]);
    assert.notEqual(r.status, 200);
    assert.match(r.body, /rejected the API key \(HTTP 401\)/);
    const row = await job(r.jobId);
    assert.equal(row.status, "failed");
    assert.match(row.status_reason, /The model provider \(openai gpt-4.1-mini\) rejected the API key \(HTTP 401\)/);
    assert.equal(fake.count({ contains: "Anchor tee" }), 1, "one request, no retries, no translations");
    const status = await content.status(r.jobId);
    assert.equal(status.status, "failed");
    assert.match(status.message, /rejected the API key/);
  });

  it("a worker killed after the description resumes without asking for it again", async (t) => {
    await useWorker(openai());
    fake.reset();
    // The translation is held until the test lets it go: the kill lands while it is asked for.
    const release = Promise.withResolvers<void>();
    t.after(() => release.resolve());
    fake.enqueue("translate", { heldUntil: release.promise });
    const jobId = uuidv7();
    await content.submit({ jobId, productName: "Port map", details: "A3 print", languages: ["nl"] });
    await waitUntil("the description to be stored and the translation to be asked for", async () => {
      const row = await job(jobId);
      return row?.description && fake.count({ task: "translate", contains: "Port map" }) === 1;
    });
    await stack.worker?.kill();
    release.resolve(); // to a worker that is gone
    await stack.startWorker();
    const res = await fetch(`${stack.services.restate.ingressUrl}/restate/workflow/ContentGeneration/${jobId}/attach`);
    assert.equal(res.status, 200, await res.text());
    assert.equal(fake.count({ task: "describe", contains: "Port map" }), 1, "the journal kept the description");
    assert.equal(fake.count({ task: "translate", contains: "Port map" }), 2, "the interrupted translation ran again");
    assert.equal((await job(jobId)).status, "completed");
    assert.equal((await translations(jobId)).length, 1);
  });

  it("Anthropic: the same job end to end through the Messages API", async () => {
    await useWorker(anthropicPaced());
    fake.reset();
    const r = await run("Brass bell", ["es"]);
    assert.equal(r.status, 200, r.body);
    const row = await job(r.jobId);
    assert.equal(row.provider, "anthropic");
    assert.match(row.description, /^Brass bell: a handsome/);
    assert.equal((await translations(r.jobId))[0]?.text, `[Spanish] ${row.description}`);
    assert.equal(fake.count({ route: "anthropic", contains: "Brass bell" }), 2);
    assert.ok(Number(row.estimated_cost_cents) > 0);
  });

  it("pacing: a burst of jobs waits for LlmQuota instead of running into 429s", async () => {
    await useWorker(anthropicPaced());
    fake.reset();
    // The provider allows 2 requests a second; the worker was configured for 1 a second, burst 1.
    fake.rateLimit = { max: 2, windowMs: 1_000 };
    const names = ["Pace A", "Pace B", "Pace C", "Pace D"];
    const results = await Promise.all(names.map((n) => run(n)));
    for (const r of results) assert.equal(r.status, 200, r.body);
    const log = fake.requests
      .slice(-8)
      .map((q) => `${q.at % 100_000} ${q.task} ${q.status} ${/Product: (.*)/.exec(q.prompt)?.[1] ?? ""}`);
    assert.equal(fake.count({ status: 429, contains: "Pace " }), 0, `the fake never had to refuse a request:\n${log.join("\n")}`);
    assert.equal(fake.count({ task: "describe", contains: "Pace " }), names.length);
  });

  it("pacing follows the usage the provider reports, not the estimate booked before the call", async () => {
    // 10 tokens a second, 600 saved: a description books its prompt plus 400 (its longest answer).
    await useWorker({
      LLM_PROVIDER: "openai",
      LLM_MODEL: "gpt-4.1-mini",
      LLM_BASE_URL: fake.openaiBaseUrl,
      OPENAI_API_KEY: "sk-test",
      LLM_TOKENS_PER_MINUTE: "600",
      LLM_BURST_SECONDS: "60",
    });
    const cap = 600;
    const bucket = async () => {
      const res = await fetch(`${stack.services.restate.adminUrl}/query`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({
          query: "SELECT value_utf8 FROM state WHERE service_name = 'LlmQuota' AND service_key = 'openai' AND key = 'bucket'",
        }),
      });
      assert.equal(res.status, 200);
      const [row] = ((await res.json()) as { rows: Array<{ value_utf8: string }> }).rows;
      return row ? (JSON.parse(row.value_utf8) as { tokens: number; at: number }) : null;
    };
    const usage = async (jobId: string) => {
      const row = await job(jobId);
      return { used: Number(row.input_tokens) + Number(row.output_tokens), estimate: Number(row.input_tokens) + 400 };
    };

    // A short answer: the provider reports far less than was booked, and the rest is given back.
    fake.reset();
    const short = await run("Tide clock");
    assert.equal(short.status, 200, short.body);
    const a = await usage(short.jobId);
    assert.ok(a.estimate - a.used > 300, `the answer is short (${a.used} used of ${a.estimate} booked)`);
    const settled = await waitUntil("the slot settled with the reported usage", async () => {
      const b = await bucket();
      return b && b.tokens > cap - a.estimate + 150 ? b : null;
    });
    assert.ok(settled.tokens >= cap - a.used - 1 && settled.tokens <= cap, `bucket ${settled.tokens}, used ${a.used}`);

    // A long answer: the provider reports more than was booked, and the bucket goes into debt.
    fake.reset();
    fake.enqueue("describe", { text: "long ".repeat(1500).trim() });
    const long = await run("Tide table");
    assert.equal(long.status, 200, long.body);
    const b = await usage(long.jobId);
    assert.ok(b.used > b.estimate, `the answer overran (${b.used} used of ${b.estimate} booked)`);
    const debt = await waitUntil("the overrun charged", async () => {
      const q = await bucket();
      return q && q.tokens < 0 ? q : null;
    });
    assert.ok(debt.tokens <= cap - b.used + 100, `bucket ${debt.tokens} reflects ${b.used} tokens spent`);
  });

  it("offline provider: deterministic text, labelled, no model called", async () => {
    await useWorker({ LLM_PROVIDER: "offline" });
    fake.reset();
    const before = fake.requests.length;
    const r = await run("Sea glass", ["pt"]);
    assert.equal(r.status, 200, r.body);
    const row = await job(r.jobId);
    assert.equal(row.provider, "offline");
    assert.match(row.description, /^\[offline provider\] Sea glass: details of Sea glass\./);
    assert.match((await translations(r.jobId))[0]?.text ?? "", /^\[Portuguese, offline provider\]/);
    assert.equal(Number(row.estimated_cost_cents), 0);
    assert.equal(fake.requests.length, before);
  });
});
