/**
 * The offline provider: deterministic text built from the request, no model and no network. For
 * development and tests without keys; every page that shows its text says "offline provider",
 * and the prod profile refuses it unless ALLOW_OFFLINE_LLM=true.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Completion, CompletionRequest, LlmProvider } from "./llm-provider.ts";

/** The product description's prompt carries these lines; the offline text echoes them back. */
function field(prompt: string, name: string): string {
  return new RegExp(`^${name}: (.*)$`, "m").exec(prompt)?.[1]?.trim() ?? "";
}

export function offlineText(req: Pick<CompletionRequest, "system" | "prompt">): string {
  const language = field(req.prompt, "Target language");
  if (language) {
    const source = req.prompt.split("\n---\n")[1]?.trim() ?? "";
    return `[${language}, offline provider] ${source}`;
  }
  const name = field(req.prompt, "Product") || "This product";
  const details = field(req.prompt, "Details");
  return (
    `[offline provider] ${name}: ${details}${/[.!?]$/.test(details) ? "" : "."} ` +
    `Made to be used every day and built to last, ${name} is a small pleasure that earns its place. ` +
    `This placeholder was written without a language model; configure LLM_PROVIDER for real copy.`
  );
}

export function createOfflineProvider(opts: { chunkDelayMs?: number } = {}): LlmProvider {
  const chunkDelayMs = opts.chunkDelayMs ?? 15;
  return {
    name: "offline",
    model: "offline",
    async complete(req: CompletionRequest): Promise<Completion> {
      const text = offlineText(req);
      if (req.onText) {
        // Streamed word by word, so the live path works the same as with a real model.
        for (const word of text.split(/(?<=\s)/)) {
          req.onText(word);
          await sleep(chunkDelayMs, undefined, req.signal ? { signal: req.signal } : undefined);
        }
      }
      const words = (s: string) => Math.ceil(s.split(/\s+/).length * 1.3);
      return { text, inputTokens: words(req.system) + words(req.prompt), outputTokens: words(text), model: "offline" };
    },
  };
}
