/**
 * What the content workflow needs from a language model: one completion per call, optionally
 * streamed (text deltas go to `onText` as they arrive). Implementations call the official SDKs
 * with their own retries off (Restate owns retries) and sort failures through `llm-errors.ts`.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { WorkerConfig } from "../../shared/config.ts";
import type { LlmProviderName } from "../../shared/content-job.schema.ts";
import { createAnthropicProvider } from "./llm-anthropic.ts";
import { createOfflineProvider } from "./llm-offline.ts";
import { createOpenAiProvider } from "./llm-openai.ts";

export interface CompletionRequest {
  system: string;
  prompt: string;
  temperature: number;
  maxTokens: number;
  /** Aborts the HTTP request (the Restate attempt ended). */
  signal?: AbortSignal | undefined;
  /** Stream the answer and hand each text delta here. */
  onText?: ((delta: string) => void) | undefined;
}

export interface Completion {
  text: string;
  inputTokens: number;
  outputTokens: number;
  model: string;
}

export interface LlmProvider {
  readonly name: LlmProviderName;
  readonly model: string;
  complete(req: CompletionRequest): Promise<Completion>;
}

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

/** Waits until a pacing slot (epoch ms from LlmQuota) has come; returns at once when it has passed. */
export async function waitForSlot(notBefore: number, signal?: AbortSignal): Promise<void> {
  const delay = notBefore - Date.now();
  if (delay > 0) await sleep(delay, undefined, signal ? { signal } : undefined);
}
