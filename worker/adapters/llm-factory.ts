/**
 * The configured language model: the one place that loads the OpenAI and Anthropic SDKs, imported
 * by `worker/main.ts` only, so durable files that use a provider never load either SDK.
 */
import type { WorkerConfig } from "../../shared/worker-config.schema.ts";
import type { LlmProviderName } from "../../shared/content-job.schema.ts";
import { createAnthropicProvider } from "./llm-anthropic.ts";
import { createOfflineProvider } from "./llm-offline.ts";
import { createOpenAiProvider } from "./llm-openai.ts";
import type { LlmProvider } from "./llm-provider.ts";

export const DEFAULT_MODELS: Record<LlmProviderName, string> = {
  openai: "gpt-4.1-mini",
  anthropic: "claude-haiku-4-5",
  offline: "offline",
};

export function createLlmProvider(config: WorkerConfig): LlmProvider {
  const model = config.LLM_MODEL ?? DEFAULT_MODELS[config.LLM_PROVIDER];
  const common = { model, baseUrl: config.LLM_BASE_URL, timeoutMs: config.LLM_TIMEOUT_MS };
  switch (config.LLM_PROVIDER) {
    case "openai":
      // A self-hosted OpenAI-compatible server may take no key; the SDK still wants a non-empty one.
      return createOpenAiProvider({ ...common, apiKey: config.OPENAI_API_KEY ?? "not-needed" });
    case "anthropic":
      return createAnthropicProvider({ ...common, apiKey: config.ANTHROPIC_API_KEY ?? "" });
    case "offline":
      return createOfflineProvider();
  }
}
