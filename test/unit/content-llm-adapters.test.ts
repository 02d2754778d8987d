/**
 * The provider adapters through the real OpenAI and Anthropic SDKs against the wire-level fake:
 * streamed and plain answers, usage, and how each failure is sorted for Restate.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as restate from "@restatedev/restate-sdk";
import { PermanentError } from "../../worker/errors.ts";
import { createAnthropicProvider } from "../../worker/adapters/llm-anthropic.ts";
import { retryAfterMs } from "../../worker/adapters/llm-errors.ts";
import { createOfflineProvider } from "../../worker/adapters/llm-offline.ts";
import { createOpenAiProvider } from "../../worker/adapters/llm-openai.ts";
import type { LlmProvider } from "../../worker/adapters/llm-provider.ts";
import { productDescriptionPrompt } from "../../worker/prompts/product-description.prompt.ts";
import { translationPrompt } from "../../worker/prompts/translation.prompt.ts";
import { startFakeLlm, type FakeLlmServer } from "../helpers/fake-llm-server.ts";

describe("LLM provider adapters", () => {
  let fake: FakeLlmServer;
  const providers: Record<string, () => LlmProvider> = {};

  before(async () => {
    fake = await startFakeLlm();
    providers.openai = () =>
      createOpenAiProvider({ apiKey: "sk-test", model: "gpt-4.1-mini", baseUrl: fake.openaiBaseUrl, timeoutMs: 5_000 });
    providers.anthropic = () =>
      createAnthropicProvider({ apiKey: "sk-ant-test", model: "claude-haiku-4-5", baseUrl: fake.url, timeoutMs: 5_000 });
  });
  after(() => fake?.close());

  const describeReq = {
    ...productDescriptionPrompt,
    prompt: productDescriptionPrompt.user({ productName: "Brass lamp", details: "desk lamp" }),
  };

  for (const name of ["openai", "anthropic"] as const) {
    describe(name, () => {
      it("streams a description: deltas arrive in order, usage is counted", async () => {
        fake.reset();
        const deltas: string[] = [];
        const r = await providers[name]!().complete({ ...describeReq, onText: (d) => deltas.push(d) });
        assert.match(r.text, /^Brass lamp: a handsome/);
        assert.ok(deltas.length > 3, "several deltas");
        assert.equal(deltas.join("").trim(), r.text);
        assert.ok(r.inputTokens > 0 && r.outputTokens > 0);
        const last = fake.requests.at(-1);
        assert.equal(last?.route, name);
        assert.equal(last?.stream, true);
        assert.match(last?.apiKey ?? "", /test/);
      });

      it("translates without streaming", async () => {
        fake.reset();
        const r = await providers[name]!().complete({
          ...translationPrompt,
          prompt: translationPrompt.user({ languageName: "French", text: "Hello" }),
        });
        assert.equal(r.text, "[French] Hello");
        assert.equal(fake.requests.at(-1)?.stream, false);
      });

      it("429 is retryable after the server's Retry-After; the SDK does not retry by itself", async () => {
        fake.reset();
        fake.enqueue("describe", { status: 429, retryAfterSeconds: 2 });
        const before = fake.requests.length;
        const err = await providers[name]!()
          .complete(describeReq)
          .catch((e: unknown) => e);
        assert.ok(err instanceof restate.RetryableError, String(err));
        assert.equal(err.retryAfter, 2000);
        assert.equal(fake.requests.length - before, 1);
      });

      for (const status of [400, 401, 403, 404]) {
        it(`${status} is permanent with a clear message`, async () => {
          fake.reset();
          fake.enqueue("describe", { status });
          const err = await providers[name]!()
            .complete(describeReq)
            .catch((e: unknown) => e);
          assert.ok(err instanceof PermanentError, String(err));
          assert.match(err.message, new RegExp(`HTTP ${status}`));
        });
      }

      it("500 stays an ordinary (retried) error, tried once", async () => {
        fake.reset();
        fake.enqueue("translate", { status: 500 });
        const before = fake.requests.length;
        const err = await providers[name]!()
          .complete({ ...translationPrompt, prompt: translationPrompt.user({ languageName: "German", text: "x" }) })
          .catch((e: unknown) => e);
        assert.ok(
          err instanceof Error && !(err instanceof PermanentError) && !(err instanceof restate.RetryableError),
          String(err),
        );
        assert.match(err.message, /HTTP 500/);
        assert.equal(fake.requests.length - before, 1);
      });

      it("a content refusal is permanent", async () => {
        fake.reset();
        fake.enqueue("describe", { refusal: true });
        const err = await providers[name]!()
          .complete({ ...describeReq, onText: () => undefined })
          .catch((e: unknown) => e);
        assert.ok(err instanceof PermanentError, String(err));
        assert.match(err.message, /declined/);
      });
    });
  }

  it("times out a slow answer instead of waiting forever", async () => {
    fake.reset();
    fake.enqueue("describe", { delayMs: 1_500 });
    const slow = createOpenAiProvider({ apiKey: "k", model: "m", baseUrl: fake.openaiBaseUrl, timeoutMs: 300 });
    const err = await slow.complete(describeReq).catch((e: unknown) => e);
    assert.ok(err instanceof Error && !(err instanceof PermanentError), String(err));
    assert.match(err.message, /Could not reach the model provider/);
  });

  it("the offline provider is deterministic, labelled, and streams", async () => {
    const offline = createOfflineProvider({ chunkDelayMs: 0 });
    const deltas: string[] = [];
    const a = await offline.complete({ ...describeReq, onText: (d) => deltas.push(d) });
    const b = await offline.complete(describeReq);
    assert.equal(a.text, b.text);
    assert.match(a.text, /^\[offline provider\] Brass lamp: desk lamp\./);
    assert.equal(deltas.join(""), a.text);
    const t = await offline.complete({
      ...translationPrompt,
      prompt: translationPrompt.user({ languageName: "Dutch", text: a.text }),
    });
    assert.match(t.text, /^\[Dutch, offline provider\] \[offline provider\] Brass lamp/);
  });

  it("reads Retry-After as seconds, an HTTP date, or retry-after-ms", () => {
    assert.equal(retryAfterMs(new Headers({ "retry-after": "3" })), 3000);
    assert.equal(retryAfterMs(new Headers({ "retry-after-ms": "250", "retry-after": "3" })), 250);
    assert.equal(retryAfterMs(new Headers({ "retry-after": new Date(10_000).toUTCString() }), 4_000), 6000);
    assert.equal(retryAfterMs(new Headers({})), null);
  });
});
