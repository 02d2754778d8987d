/**
 * OpenAI chat completions through the official SDK; with LLM_BASE_URL, any OpenAI-compatible
 * server (Ollama, vLLM). SDK retries are off: Restate retries the step (see llm-errors.ts).
 */
import OpenAI from "openai";
import { mapLlmError, refusal } from "./llm-errors.ts";
import type { Completion, CompletionRequest, LlmProvider } from "./llm-provider.ts";

export interface OpenAiSettings {
  apiKey: string;
  model: string;
  baseUrl?: string | undefined;
  timeoutMs: number;
}

export function createOpenAiProvider(s: OpenAiSettings): LlmProvider {
  const client = new OpenAI({ apiKey: s.apiKey, baseURL: s.baseUrl ?? null, maxRetries: 0, timeout: s.timeoutMs });
  const label = `openai ${s.model}`;
  // Hosted OpenAI wants max_completion_tokens; compatible servers mostly still read max_tokens.
  const limit = (n: number) => (s.baseUrl ? { max_tokens: n } : { max_completion_tokens: n });

  async function complete(req: CompletionRequest): Promise<Completion> {
    const messages = [
      { role: "system" as const, content: req.system },
      { role: "user" as const, content: req.prompt },
    ];
    const options = { signal: req.signal ?? null, maxRetries: 0, timeout: s.timeoutMs };
    try {
      if (!req.onText) {
        const r = await client.chat.completions.create(
          { model: s.model, messages, temperature: req.temperature, ...limit(req.maxTokens) },
          options,
        );
        const choice = r.choices[0];
        if (choice?.finish_reason === "content_filter" || choice?.message.refusal) throw refusal(label);
        return {
          text: choice?.message.content?.trim() ?? "",
          inputTokens: r.usage?.prompt_tokens ?? 0,
          outputTokens: r.usage?.completion_tokens ?? 0,
          model: r.model || s.model,
        };
      }
      const stream = await client.chat.completions.create(
        {
          model: s.model,
          messages,
          temperature: req.temperature,
          ...limit(req.maxTokens),
          stream: true,
          stream_options: { include_usage: true },
        },
        options,
      );
      let text = "";
      let model = s.model;
      let usage = { inputTokens: 0, outputTokens: 0 };
      for await (const chunk of stream) {
        if (chunk.model) model = chunk.model;
        if (chunk.usage) usage = { inputTokens: chunk.usage.prompt_tokens, outputTokens: chunk.usage.completion_tokens };
        const choice = chunk.choices[0];
        if (choice?.finish_reason === "content_filter" || choice?.delta.refusal) throw refusal(label);
        const delta = choice?.delta.content;
        if (delta) {
          text += delta;
          req.onText(delta);
        }
      }
      return { text: text.trim(), ...usage, model };
    } catch (err) {
      return mapLlmError(err, label);
    }
  }

  return { name: "openai", model: s.model, complete };
}
