/**
 * Product copy: the form, its submission (validate → claim the job id for this session → submit
 * the workflow → redirect), the job page and the session's list of jobs.
 */
import Router from "@koa/router";
import { v7 as uuidv7 } from "uuid";
import type { Logger } from "../../shared/logger.ts";
import { contentFormSchema, contentJobIdSchema } from "../../shared/content-job.schema.ts";
import { emptySnapshot, type ProgressSnapshot } from "../../shared/progress-event.ts";
import type { ContentClient } from "../adapters/content-client.ts";
import type { ContentJobsReader, ContentJobView } from "../adapters/content-jobs.repo.ts";
import type { OwnershipStore } from "../adapters/ownership.store.ts";
import type { AppState } from "../app-state.ts";
import { accessLinks, shareUrl } from "../access-links.ts";
import type { ResourceLinks } from "../../shared/resource-link.ts";
import { submitClaimed } from "../claimed-submission.ts";
import type { RateLimiter } from "../adapters/rate-limiter.ts";
import { formBody } from "../middleware/form-body.ts";
import { rateLimit } from "../middleware/rate-limit.ts";
import { contentFormPage, type ContentFieldErrors, type ContentFormValues } from "../views/content-form.view.ts";
import { contentListPage } from "../views/content-list.view.ts";
import { contentPage } from "../views/content-page.view.ts";
import { renderPage } from "../views/layout.view.ts";

export interface ContentRouteDeps {
  content: ContentClient;
  contentJobs: ContentJobsReader;
  ownership: OwnershipStore;
  links: ResourceLinks;
  restateUiUrl: string | undefined;
  formLimitBytes: number;
  limiter: RateLimiter;
  jobsPerMinute: number;
}

/** The workflow's snapshot, or (when Restate cannot answer) one derived from the stored row. */
export async function contentSnapshot(
  deps: Pick<ContentRouteDeps, "content" | "contentJobs">,
  jobId: string,
  log: Logger,
  row?: ContentJobView | null,
): Promise<ProgressSnapshot> {
  try {
    return await deps.content.status(jobId);
  } catch (err) {
    log.warn({ err, jobId }, "workflow status unavailable; using the stored job");
    const job = row === undefined ? await deps.contentJobs.find(jobId) : row;
    if (!job) return emptySnapshot;
    const base = {
      seq: 0,
      at: null,
      invocationId: job.invocationId,
      data: { provider: job.provider, languages: job.languages.join(",") },
    };
    if (job.status === "completed")
      return { ...base, step: "completed", percent: 100, status: "succeeded", message: "Product copy ready" };
    if (job.status === "failed")
      return { ...base, step: "failed", percent: 100, status: "failed", message: job.statusReason ?? "Job failed" };
    return { ...base, step: "received", percent: 5, status: "running", message: "Job received" };
  }
}

export function contentRoutes(deps: ContentRouteDeps) {
  const router = new Router<AppState>();

  router.get("/content", async (ctx) => {
    const ids = await deps.ownership.list("content", ctx.state.session.id);
    ctx.set("Cache-Control", "no-store");
    ctx.type = "html";
    ctx.body = renderPage(ctx, contentListPage(ids, await deps.contentJobs.list(ids)));
  });

  router.get("/content/new", (ctx) => {
    ctx.set("Cache-Control", "no-store");
    ctx.type = "html";
    const values: ContentFormValues = { jobId: uuidv7(), productName: "", details: "", languages: [] };
    ctx.body = renderPage(ctx, contentFormPage(values, ctx.state.session.csrfToken));
  });

  const limited = rateLimit({
    limiter: deps.limiter,
    name: "content",
    perMinute: deps.jobsPerMinute,
    message: "You are starting jobs too quickly. Please wait a minute and try again.",
  });

  router.post("/content", formBody({ limitBytes: deps.formLimitBytes }), limited, async (ctx) => {
    const form = ctx.state.form;
    const values: ContentFormValues = {
      jobId: form.get("jobId") ?? "",
      productName: form.get("productName") ?? "",
      details: form.get("details") ?? "",
      languages: form.getAll("languages"),
    };
    const parsed = contentFormSchema.safeParse(values);
    if (!parsed.success) {
      const errors: ContentFieldErrors = {};
      for (const issue of parsed.error.issues) errors[String(issue.path[0] ?? "form")] ??= issue.message;
      if (errors.jobId) values.jobId = uuidv7();
      ctx.status = 422;
      ctx.type = "html";
      ctx.body = renderPage(ctx, contentFormPage(values, ctx.state.session.csrfToken, errors));
      return;
    }
    const input = parsed.data;
    await submitClaimed(ctx, {
      ownership: deps.ownership,
      kind: "content",
      id: input.jobId,
      submit: () => deps.content.submit(input),
      takenMessage: "This job was already started from another browser session.",
      unavailableMessage: "We could not reach the job system, so nothing was started. Please try again in a moment.",
      location: `/content/${input.jobId}`,
    });
  });

  const signedLink = accessLinks({
    ...deps,
    kind: "content",
    idSchema: contentJobIdSchema,
    pathOf: (id) => `/content/${id}`,
    notFound: "We could not find that job.",
  });

  router.get("/content/:id", signedLink, async (ctx) => {
    const id = contentJobIdSchema.safeParse(ctx.params.id);
    if (!id.success || !(await deps.ownership.owns("content", id.data, ctx.state.session.id))) {
      return ctx.throw(404, "We could not find that job.");
    }
    const job = await deps.contentJobs.find(id.data);
    const snapshot = await contentSnapshot(deps, id.data, ctx.state.log, job);
    ctx.set("Cache-Control", "no-store");
    ctx.type = "html";
    const share = shareUrl(ctx, deps.links, "content", id.data, `/content/${id.data}`);
    ctx.body = renderPage(ctx, contentPage(id.data, job, snapshot, deps.restateUiUrl, share));
  });

  return router;
}
