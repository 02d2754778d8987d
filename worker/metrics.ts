/**
 * The worker's Prometheus metrics: handler attempts and step durations (from the SDK's hooks),
 * workflow outcomes (from terminal progress events), emails by outcome, LLM tokens and estimated
 * cost by provider, payment provider refusals of our key. Labels are names and outcomes, never ids.
 */
import type * as restate from "@restatedev/restate-sdk";
import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { ContentJobsRepo, StoredTranslation, Usage } from "./adapters/content-jobs.repo.ts";
import type { ProgressPublisher, PublishOutcome } from "./adapters/progress-publisher.ts";
import type { ProgressDraft, ResourceRef } from "../shared/progress-event.ts";
import type { Mailer } from "./adapters/smtp-mailer.ts";
import { PermanentError } from "./errors.ts";

export function createWorkerMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "quayside_worker_" });
  const m = {
    registry,
    handlerAttempts: new Histogram({
      name: "quayside_handler_attempt_seconds",
      help: "Duration of handler attempts, by service, handler and result",
      labelNames: ["service", "handler", "result"],
      registers: [registry],
    }),
    steps: new Histogram({
      name: "quayside_step_seconds",
      help: "Duration of executed ctx.run steps (replays are not counted), by service and step",
      labelNames: ["service", "step", "result"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    outcomes: new Counter({
      name: "quayside_workflow_outcomes_total",
      help: "Workflows that reached a terminal state, by kind (order, content, campaign) and outcome",
      labelNames: ["kind", "outcome"],
      registers: [registry],
    }),
    emails: new Counter({
      name: "quayside_emails_total",
      help: "Email send attempts by outcome (sent, bounced, retry)",
      labelNames: ["outcome"],
      registers: [registry],
    }),
    llmTokens: new Counter({
      name: "quayside_llm_tokens_total",
      help: "LLM tokens used by completed content jobs, by provider and direction",
      labelNames: ["provider", "direction"],
      registers: [registry],
    }),
    llmCost: new Counter({
      name: "quayside_llm_estimated_cost_cents_total",
      help: "Estimated LLM cost of completed content jobs in US cents, by provider",
      labelNames: ["provider"],
      registers: [registry],
    }),
    paymentAuthFailures: new Counter({
      name: "quayside_payment_provider_auth_failures_total",
      help: "Requests the payment provider refused for our API key (401) or its permissions (403), by provider and status",
      labelNames: ["provider", "status"],
      registers: [registry],
    }),
  };
  return m;
}
export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;

/** Times every handler attempt and every executed step. */
export function metricsHooks(m: WorkerMetrics): restate.HooksProvider {
  return ({ request }) => {
    const { service, handler } = request.target;
    const time = async (observe: (result: string, seconds: number) => void, next: () => Promise<void>) => {
      const started = performance.now();
      let result = "error";
      try {
        await next();
        result = "ok";
      } finally {
        observe(result, (performance.now() - started) / 1000);
      }
    };
    return {
      interceptor: {
        handler: (next) => time((result, s) => m.handlerAttempts.observe({ service, handler, result }, s), next),
        run: (step, next) => time((result, s) => m.steps.observe({ service, step, result }, s), next),
      },
    };
  };
}

/** Counts each resource's terminal event once, as it is published. */
export function instrumentProgress(publisher: ProgressPublisher, m: WorkerMetrics): ProgressPublisher {
  const count = (resource: ResourceRef, out: PublishOutcome) => {
    if (out.event.kind === "terminal" && out.outcome !== "duplicate")
      m.outcomes.inc({ kind: resource.kind, outcome: out.event.step });
  };
  const publishAll = publisher.publishAll?.bind(publisher);
  const latest = publisher.latest?.bind(publisher);
  return {
    ...(latest ? { latest } : {}),
    async publish(resource, draft) {
      const out = await publisher.publish(resource, draft);
      count(resource, out);
      return out;
    },
    ...(publishAll
      ? {
          async publishAll(resource: ResourceRef, drafts: ProgressDraft[]) {
            const outs = await publishAll(resource, drafts);
            for (const out of outs) count(resource, out);
            return outs;
          },
        }
      : {}),
  };
}

export function instrumentMailer(mailer: Mailer, m: WorkerMetrics): Mailer {
  return {
    ...mailer,
    async send(req) {
      try {
        const r = await mailer.send(req);
        m.emails.inc({ outcome: "sent" });
        return r;
      } catch (err) {
        m.emails.inc({ outcome: err instanceof PermanentError ? "bounced" : "retry" });
        throw err;
      }
    },
  };
}

/** Counts tokens and estimated cost once per completed content job, as its results are stored. */
export function instrumentContentJobs(jobs: ContentJobsRepo, m: WorkerMetrics, provider: string): ContentJobsRepo {
  return {
    ...jobs,
    async complete(id: string, translations: StoredTranslation[], total: Usage, costCents: number) {
      await jobs.complete(id, translations, total, costCents);
      m.llmTokens.inc({ provider, direction: "input" }, total.inputTokens);
      m.llmTokens.inc({ provider, direction: "output" }, total.outputTokens);
      m.llmCost.inc({ provider }, costCents);
    },
  };
}
