/** Anthropic messages through the official SDK. SDK retries are off: Restate retries the step. */
import Anthropic from "@anthropic-ai/sdk";
import { mapLlmError, refusal } from "./llm-errors.ts";
import type { Completion, CompletionRequest, LlmProvider } from "./llm-provider.ts";

export interface AnthropicSettings {
  apiKey: string;
  model: string;
  baseUrl?: string | undefined;
  timeoutMs: number;
}

export function createAnthropicProvider(s: AnthropicSettings): LlmProvider {
  const client = new Anthropic({ apiKey: s.apiKey, baseURL: s.baseUrl ?? null, maxRetries: 0, timeout: s.timeoutMs });
  const label = `anthropic ${s.model}`;

  async function complete(req: CompletionRequest): Promise<Completion> {
    const params = {
      model: s.model,
      system: req.system,
      max_tokens: req.maxTokens,
      temperature: req.temperature,
      messages: [{ role: "user" as const, content: req.prompt }],
    };
    const options = { signal: req.signal ?? null, maxRetries: 0, timeout: s.timeoutMs };
    try {
      if (!req.onText) {
        const m = await client.messages.create(params, options);
        if (m.stop_reason === "refusal") throw refusal(label);
        const text = m.content.map((b) => (b.type === "text" ? b.text : "")).join("");
        return { text: text.trim(), inputTokens: m.usage.input_tokens, outputTokens: m.usage.output_tokens, model: m.model };
      }
      const stream = await client.messages.create({ ...params, stream: true }, options);
      let text = "";
      let model = s.model;
      let inputTokens = 0;
      let outputTokens = 0;
      for await (const event of stream) {
        if (event.type === "message_start") {
          model = event.message.model || model;
          inputTokens = event.message.usage.input_tokens;
          outputTokens = event.message.usage.output_tokens;
        } else if (event.type === "content_block_delta" && event.delta.type === "text_delta") {
          text += event.delta.text;
          req.onText(event.delta.text);
        } else if (event.type === "message_delta") {
          outputTokens = event.usage.output_tokens;
          if (event.delta.stop_reason === "refusal") throw refusal(label);
        }
      }
      return { text: text.trim(), inputTokens, outputTokens, model };
    } catch (err) {
      return mapLlmError(err, label);
    }
  }

  return { name: "anthropic", model: s.model, complete };
}
