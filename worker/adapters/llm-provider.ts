/**
 * What the content workflow needs from a language model: one completion per call, optionally
 * streamed (text deltas go to `onText` as they arrive). Implementations call the official SDKs
 * with their own retries off (Restate owns retries) and sort failures through `llm-errors.ts`.
 * Types only: the implementations import this file, and `llm-factory.ts` picks one.
 */
import type { LlmProviderName } from "../../shared/content-job.schema.ts";

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
