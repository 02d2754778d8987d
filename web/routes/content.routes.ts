/**
 * Product copy: the form, its submission (validate → claim the job id for this session → submit
 * the workflow → redirect), the job page and the session's list of jobs.
 */
import Router from "@koa/router";
import { v7 as uuidv7 } from "uuid";
import { contentFormSchema, contentJobIdSchema } from "../../shared/content-job.schema.ts";
import type { ContentClient } from "../adapters/content-client.ts";
import type { ContentJobsReadRepo } from "../adapters/content-jobs-read.repo.ts";
import type { OwnershipStore } from "../adapters/ownership.store.ts";
import type { AppState } from "../app-state.ts";
import { idRoute } from "../id-route.ts";
import { accessLinks, shareUrl } from "../access-links.ts";
import { ownershipCheck } from "../ownership-check.ts";
import type { ResourceLinks } from "../../shared/resource-link.ts";
import { submitClaimed } from "../claimed-submission.ts";
import { currentContentSnapshot } from "../progress/content-snapshot.ts";
import type { ProgressHub } from "../progress/progress-hub.ts";
import type { RateLimiter } from "../adapters/rate-limiter.ts";
import { fieldErrors, rejectForm } from "../form-rejection.ts";
import { formBody } from "../middleware/form-body.ts";
import { rateLimit } from "../middleware/rate-limit.ts";
import { contentFormPage, type ContentFieldErrors, type ContentFormValues } from "../views/content-form.view.ts";
import { contentListPage } from "../views/content-list.view.ts";
import { contentPage } from "../views/content-page.view.ts";
import { renderPage } from "../views/layout.view.ts";

export interface ContentRouteDeps {
  content: ContentClient;
  contentJobs: ContentJobsReadRepo;
  hub: ProgressHub;
  ownership: OwnershipStore;
  links: ResourceLinks;
  restateUiUrl: string | undefined;
  formLimitBytes: number;
  limiter: RateLimiter;
  jobsPerMinute: number;
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
      const errors: ContentFieldErrors = fieldErrors(parsed.error.issues, (path) => String(path[0] ?? "form"));
      if (errors.jobId) values.jobId = uuidv7();
      return rejectForm(ctx, contentFormPage(values, ctx.state.session.csrfToken, errors));
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

  const access = {
    ownership: deps.ownership,
    kind: "content",
    idSchema: contentJobIdSchema,
    notFound: "We could not find that job.",
  } as const;
  const ownedJob = ownershipCheck(access);
  const signedLink = accessLinks({ ...access, links: deps.links, pathOf: (id) => `/content/${id}` });

  router.get(
    "/content/:id",
    idRoute(access, signedLink, async (ctx) => {
      const jobId = await ownedJob(ctx);
      const { snapshot, row } = await currentContentSnapshot(deps, jobId, ctx.state.log);
      const job = row !== undefined ? row : await deps.contentJobs.find(jobId);
      ctx.set("Cache-Control", "no-store");
      ctx.type = "html";
      const share = shareUrl(ctx, deps.links, "content", jobId, `/content/${jobId}`);
      ctx.body = renderPage(ctx, contentPage(jobId, job, snapshot, deps.restateUiUrl, share));
    }),
  );

  return router;
}
