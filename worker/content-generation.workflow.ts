/**
 * ContentGeneration (workflow, key = job id)
 *   1. save job            the request, provider and model (idempotent on the job id)
 *   2. write description   LlmQuota slot, then one streamed model call; text reaches the page live
 *   3. save description    text, usage and estimated cost; LlmQuota settles the slot with that usage
 *   4. translate <lang>    one model call per language, all in parallel (RestatePromise.all), each
 *                          slot then settled with its usage
 *   5. store results       translations and totals, job completed
 * Model failures are sorted in adapters/llm-errors.ts: 4xx and refusals end the job with a reason
 * on the page; 429 waits for Retry-After; 5xx and network errors retry with bounded backoff.
 * Step seqs are spaced SEQ_BLOCK apart so live text fits between them (adapters/llm-live-progress.ts).
 */
import * as restate from "@restatedev/restate-sdk";
import { contentJobInputSchema, contentLanguages, providerLabel } from "../shared/content-job.schema.ts";
import { contentSteps, type ContentStepDraft } from "../shared/content-steps.ts";
import type { ProgressData } from "../shared/progress-event.ts";
import type { ContentJobsRepo, StoredTranslation } from "./adapters/content-jobs.repo.ts";
import { blockSeqPublisher, createLiveFeed, SEQ_BLOCK } from "./adapters/llm-live-progress.ts";
import { estimateCostCents, type Price } from "./adapters/llm-prices.ts";
import { waitForSlot } from "./adapters/llm-pacing.ts";
import type { LlmProvider } from "./adapters/llm-provider.ts";
import type { ProgressPublisher } from "./adapters/progress-publisher.ts";
import { asTerminalError, infraRetry } from "./errors.ts";
import { llmQuotaApi } from "./llm-quota.object.ts";
import { productDescriptionPrompt } from "./prompts/product-description.prompt.ts";
import type { PromptSpec } from "./prompts/prompt-spec.ts";
import { translationPrompt } from "./prompts/translation.prompt.ts";
import { snapshotHandler, trackProgress } from "./progress-tracker.ts";

export interface ContentGenerationDeps {
  jobs: ContentJobsRepo;
  llm: LlmProvider;
  progress: ProgressPublisher;
  price: Price;
  /** Attempts per model call (the first included) before the job fails. */
  maxAttempts: number;
}

export interface ContentOutcome {
  jobId: string;
  status: "completed";
  description: string;
  translations: Record<string, string>;
  inputTokens: number;
  outputTokens: number;
  estimatedCostCents: number;
}

/** What a call may cost against the tokens-per-minute budget: the prompt (≈ 4 characters a token) and the longest answer. */
function tokenEstimate(spec: PromptSpec<never>, prompt: string): number {
  return Math.ceil((spec.system.length + prompt.length) / 4) + spec.maxTokens;
}

export function createContentGenerationWorkflow(deps: ContentGenerationDeps) {
  const modelCall = {
    initialRetryInterval: { seconds: 1 },
    retryIntervalFactor: 2,
    maxRetryInterval: { seconds: 30 },
    maxRetryAttempts: deps.maxAttempts,
  };
  return restate.workflow({
    name: "ContentGeneration",
    handlers: {
      run: restate.handlers.workflow.workflow(
        { input: restate.serde.schema(contentJobInputSchema) },
        async (ctx: restate.WorkflowContext, input): Promise<ContentOutcome> => {
          const jobId = ctx.key;
          if (input.jobId !== jobId)
            throw new restate.TerminalError("The job id does not match the workflow key", { errorCode: 400 });
          const resource = { kind: "content", id: jobId } as const;
          const tracker = trackProgress(ctx, resource, blockSeqPublisher(deps.progress));
          const { llm } = deps;
          const base: ProgressData = {
            provider: llm.name,
            label: providerLabel(llm.name, llm.model),
            languages: input.languages.join(","),
          };
          let steps = 0;
          const emit = async (draft: ContentStepDraft, data?: ProgressData) => {
            steps += 1;
            await tracker.emit({ ...draft, data: { ...base, ...data } });
          };
          const signal = ctx.request().attemptCompletedSignal;
          const quota = ctx.objectClient(llmQuotaApi, llm.name);
          // A slot books an estimate; once the provider says what the call used, the bucket is
          // corrected (one-way: the job does not wait for the bookkeeping).
          const settle = (estimated: number, usage: { inputTokens: number; outputTokens: number }) =>
            ctx.objectSendClient(llmQuotaApi, llm.name).settle({ estimated, used: usage.inputTokens + usage.outputTokens });
          const waitUntil = async (notBefore: number) => {
            const wait = notBefore - (await ctx.date.now());
            if (wait > 0) await ctx.sleep(wait, "wait for LlmQuota");
          };

          await emit(contentSteps.received);
          try {
            await ctx.run("save job", () => deps.jobs.create(input, llm.name, llm.model, ctx.request().id), infraRetry);

            const prompt = productDescriptionPrompt.user(input);
            const estimate = tokenEstimate(productDescriptionPrompt, prompt);
            const slot = await quota.reserve({ tokens: estimate });
            await waitUntil(slot.notBefore);
            await emit(contentSteps.writing);
            const afterSeq = steps * SEQ_BLOCK;
            const description = await ctx.run(
              "write description",
              async () => {
                const live = createLiveFeed({
                  publisher: deps.progress,
                  resource,
                  afterSeq,
                  ...contentSteps.writing,
                  data: base,
                });
                try {
                  const r = await llm.complete({ ...productDescriptionPrompt, prompt, signal, onText: (d) => live.text(d) });
                  // Retried like any other failure (bounded): an empty answer is usually a fluke.
                  if (!r.text) throw new Error("The model returned no text");
                  return r;
                } finally {
                  await live.close();
                }
              },
              modelCall,
            );
            settle(estimate, description);
            let cost = estimateCostCents(deps.price, description);
            await ctx.run(
              "save description",
              () => deps.jobs.saveDescription(jobId, description.text, description.model, description, cost),
              infraRetry,
            );
            const text = description.text.slice(0, 4000);
            await emit(contentSteps.described, { text });

            let translations: StoredTranslation[] = [];
            if (input.languages.length > 0) {
              const prompts = input.languages.map((language) =>
                translationPrompt.user({ languageName: contentLanguages[language], text: description.text }),
              );
              const estimates = prompts.map((p) => tokenEstimate(translationPrompt, p));
              const slots = await restate.RestatePromise.all(estimates.map((tokens) => quota.reserve({ tokens })));
              await waitUntil(Math.min(...slots.map((s) => s.notBefore)));
              const translating = contentSteps.translating(input.languages.length);
              await emit(translating, { text });
              const live = createLiveFeed({
                publisher: deps.progress,
                resource,
                afterSeq: steps * SEQ_BLOCK,
                ...translating,
                data: { ...base, text },
              });
              // One named step per language; they run in parallel and are joined by RestatePromise.all.
              translations = await restate.RestatePromise.all(
                input.languages.map((language, i) =>
                  ctx.run(
                    `translate ${language}`,
                    async (): Promise<StoredTranslation> => {
                      await waitForSlot(slots[i]?.notBefore ?? 0, signal);
                      const r = await llm.complete({ ...translationPrompt, prompt: prompts[i] ?? "", signal });
                      live.item(language);
                      return { language, text: r.text, inputTokens: r.inputTokens, outputTokens: r.outputTokens };
                    },
                    modelCall,
                  ),
                ),
              );
              await live.close();
              translations.forEach((t, i) => settle(estimates[i] ?? 0, t));
            }

            const total = translations.reduce(
              (sum, t) => ({ inputTokens: sum.inputTokens + t.inputTokens, outputTokens: sum.outputTokens + t.outputTokens }),
              { inputTokens: description.inputTokens, outputTokens: description.outputTokens },
            );
            cost = estimateCostCents(deps.price, total);
            await ctx.run("store results", () => deps.jobs.complete(jobId, translations, total, cost), infraRetry);
            await emit(contentSteps.completed, { text, done: input.languages.join(",") });
            return {
              jobId,
              status: "completed",
              description: description.text,
              translations: Object.fromEntries(translations.map((t) => [t.language, t.text])),
              ...total,
              estimatedCostCents: cost,
            };
          } catch (err) {
            if (!(err instanceof restate.TerminalError)) throw err;
            await ctx.run("mark failed", () => deps.jobs.fail(jobId, err.message), infraRetry);
            // The progress contract holds 500 characters of message; the row keeps the whole reason.
            await emit(contentSteps.failed(err.message.slice(0, 500)));
            throw err;
          }
        },
      ),

      status: snapshotHandler(),
    },
    // A streamed generation can run for minutes without a journal entry: Restate's defaults
    // (1 min inactivity, then abort) would cut it off and start it again.
    options: {
      asTerminalError,
      workflowRetention: { days: 7 },
      inactivityTimeout: { minutes: 10 },
      abortTimeout: { minutes: 5 },
    },
  });
}

export type ContentGeneration = ReturnType<typeof createContentGenerationWorkflow>;
