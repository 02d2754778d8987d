/**
 * Email campaigns: the form, its submission (validate → claim the id for this session → submit
 * the workflow → redirect), the campaign page, its stop button, and "my campaigns".
 */
import Router from "@koa/router";
import { v7 as uuidv7 } from "uuid";
import { campaignFormSchema, campaignIdSchema, type CampaignFormValues } from "../../shared/campaign.schema.ts";
import { currentCampaignSnapshot } from "../progress/campaign-snapshot.ts";
import type { ProgressHub } from "../progress/progress-hub.ts";
import type { CampaignsClient } from "../adapters/campaigns-client.ts";
import type { CampaignsReadRepo } from "../adapters/campaigns-read.repo.ts";
import type { OwnershipStore } from "../adapters/ownership.store.ts";
import type { RateLimiter } from "../adapters/rate-limiter.ts";
import type { AppState } from "../app-state.ts";
import { idRoute } from "../id-route.ts";
import { accessLinks, shareUrl } from "../access-links.ts";
import { ownershipCheck } from "../ownership-check.ts";
import type { ResourceLinks } from "../../shared/resource-link.ts";
import { RestateUnavailableError } from "../adapters/ingress.ts";
import { redirectAfterPost, submitClaimed } from "../claimed-submission.ts";
import { fieldErrors, rejectForm } from "../form-rejection.ts";
import { formBody } from "../middleware/form-body.ts";
import { rateLimit } from "../middleware/rate-limit.ts";
import { campaignFormPage, type CampaignFieldErrors } from "../views/campaign-form.view.ts";
import { campaignListPage } from "../views/campaign-list.view.ts";
import { campaignPage } from "../views/campaign-page.view.ts";
import { renderPage } from "../views/layout.view.ts";

export interface CampaignRouteDeps {
  campaigns: CampaignsClient;
  campaignStore: CampaignsReadRepo;
  hub: ProgressHub;
  ownership: OwnershipStore;
  links: ResourceLinks;
  limiter: RateLimiter;
  maxRecipients: number;
  campaignsPerMinute: number;
  restateUiUrl: string | undefined;
  mailUiUrl: string | undefined;
}

const FIELDS = ["campaignId", "subject", "body", "format", "recipients"] as const;

export function campaignRoutes(deps: CampaignRouteDeps) {
  const router = new Router<AppState>();
  // Built once, as the order form's is: building it per POST cost more than parsing with it.
  const formSchema = campaignFormSchema(deps.maxRecipients);
  // A body of 20 000 characters and 1 000 long addresses, URL-encoded, stays well below this.
  const form = formBody({ limitBytes: Math.max(64 * 1024, deps.maxRecipients * 800) });
  const limited = rateLimit({
    limiter: deps.limiter,
    name: "campaigns",
    perMinute: deps.campaignsPerMinute,
    message: "You are starting campaigns too quickly. Please wait a minute and try again.",
  });

  const access = {
    ownership: deps.ownership,
    kind: "campaign",
    idSchema: campaignIdSchema,
    notFound: "We could not find that campaign.",
  } as const;
  const ownedId = ownershipCheck(access);

  router.get("/emails", async (ctx) => {
    const ids = await deps.ownership.list("campaign", ctx.state.session.id);
    ctx.set("Cache-Control", "no-store");
    ctx.type = "html";
    ctx.body = renderPage(ctx, campaignListPage(await deps.campaignStore.summaries(ids)));
  });

  router.get("/emails/new", (ctx) => {
    const values: CampaignFormValues = { campaignId: uuidv7(), subject: "", body: "", format: "markdown", recipients: "" };
    ctx.set("Cache-Control", "no-store");
    ctx.type = "html";
    ctx.body = renderPage(ctx, campaignFormPage(values, ctx.state.session.csrfToken, deps.maxRecipients));
  });

  router.post("/emails", form, limited, async (ctx) => {
    const values = Object.fromEntries(FIELDS.map((f) => [f, ctx.state.form.get(f) ?? ""])) as CampaignFormValues;
    const parsed = formSchema.safeParse(values);
    if (!parsed.success) {
      const errors: CampaignFieldErrors = fieldErrors(parsed.error.issues, (path) => FIELDS.find((f) => f === path[0]) ?? "form");
      if (errors.campaignId) values.campaignId = uuidv7();
      return rejectForm(ctx, campaignFormPage(values, ctx.state.session.csrfToken, deps.maxRecipients, errors));
    }
    const input = parsed.data;
    await submitClaimed(ctx, {
      ownership: deps.ownership,
      kind: "campaign",
      id: input.campaignId,
      submit: () => deps.campaigns.submit(input),
      takenMessage: "This campaign was already started from another browser session.",
      unavailableMessage: "We could not reach the email system, so nothing was sent. Please try again in a moment.",
      location: `/emails/${input.campaignId}`,
    });
  });

  const signedLink = accessLinks({ ...access, links: deps.links, pathOf: (id) => `/emails/${id}` });

  router.get(
    "/emails/:id",
    idRoute(access, signedLink, async (ctx) => {
      const id = await ownedId(ctx);
      // The campaign is read after the stream: its rows are at least as new as the snapshot.
      const { snapshot, row } = await currentCampaignSnapshot(deps, id, ctx.state.log);
      const campaign = row !== undefined ? row : await deps.campaignStore.find(id);
      const opts = {
        csrfToken: ctx.state.session.csrfToken,
        restateUiUrl: deps.restateUiUrl,
        mailUiUrl: deps.mailUiUrl,
        shareUrl: shareUrl(ctx, deps.links, "campaign", id, `/emails/${id}`),
      };
      ctx.set("Cache-Control", "no-store");
      ctx.type = "html";
      ctx.body = renderPage(ctx, campaignPage(id, campaign, snapshot, opts));
    }),
  );

  router.post("/emails/:id/cancel", formBody({ limitBytes: 4 * 1024 }), async (ctx) => {
    const id = await ownedId(ctx);
    try {
      const cancelling = await deps.campaigns.cancel(id);
      ctx.state.log.info({ campaignId: id, cancelling }, "campaign cancel requested");
    } catch (err) {
      if (!(err instanceof RestateUnavailableError)) throw err;
      ctx.state.log.error({ err, campaignId: id }, "campaign cancel failed");
      ctx.throw(503, "We could not reach the email system to stop the campaign. Please try again in a moment.", { expose: true });
    }
    redirectAfterPost(ctx, `/emails/${id}`);
  });

  return router;
}
