/** Content views: model text is escaped everywhere, the offline provider is labelled, per-language states. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { contentFormSchema } from "../../shared/content-job.schema.ts";
import { loadConfig } from "../../shared/config.ts";
import { workerConfigSchema } from "../../shared/worker-config.schema.ts";
import type { ProgressSnapshot } from "../../shared/progress-event.ts";
import type { ContentJobView } from "../../web/adapters/content-jobs-read.repo.ts";
import { contentPanel, contentResult } from "../../web/views/content-page.view.ts";

const evil = `<script>alert(1)</script><img src=x onerror=alert(2)>`;
const snapshot = (over: Partial<ProgressSnapshot>): ProgressSnapshot => ({
  seq: 3000,
  step: "writing",
  percent: 15,
  status: "running",
  message: "Writing the description",
  at: null,
  invocationId: "inv_1",
  data: { provider: "openai", languages: "fr,de", text: evil },
  ...over,
});

describe("content views", () => {
  it("shows streamed text while the job runs, and not once it has ended (the stored result takes its place)", () => {
    assert.match(contentPanel(snapshot({ step: "translating", percent: 60 }), undefined).value, /class="live-text"/);
    for (const status of ["succeeded", "failed", "cancelled"] as const) {
      const html = contentPanel(snapshot({ step: "done", percent: 100, status }), undefined).value;
      assert.doesNotMatch(html, /live-text/, status);
    }
  });

  it("escapes streamed text and shows each language's state", () => {
    const html = contentPanel(snapshot({}), "http://restate:9070").value;
    assert.doesNotMatch(html, /<script>|<img/);
    assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.match(html, /data-kind="streaming"/);
    assert.match(html, /class="lang pending" data-lang="fr">French/);
    assert.match(html, /href="http:\/\/restate:9070\/ui\/invocations\/inv_1"/);
    const translating = contentPanel(
      snapshot({ step: "translating", data: { languages: "fr,de", done: "de" } }),
      undefined,
    ).value;
    assert.match(translating, /class="lang running" data-lang="fr"/);
    assert.match(translating, /class="lang done" data-lang="de"/);
    assert.doesNotMatch(contentPanel(snapshot({ data: { text: "a\rid: 9" } }), undefined).value, /\r/, "no lone CR reaches SSE");
  });

  it("labels the offline provider wherever its text appears", () => {
    assert.match(contentPanel(snapshot({ data: { provider: "offline", text: "x" } }), undefined).value, /offline provider/);
    const job: ContentJobView = {
      id: "j",
      productName: "Mug",
      languages: ["fr"],
      provider: "offline",
      model: "offline",
      status: "completed",
      statusReason: null,
      createdAt: new Date(0).toISOString(),
      details: "d",
      description: evil,
      inputTokens: 10,
      outputTokens: 20,
      estimatedCostCents: 0,
      invocationId: null,
      translations: [{ language: "fr", text: evil }],
    };
    const html = contentResult(job).value;
    assert.match(html, /Written by the offline provider/);
    assert.match(html, /offline provider \(deterministic text, no model was called\)/);
    assert.doesNotMatch(html, /<script>|<img/);
  });

  it("validates the form: unknown languages refused, duplicates collapsed", () => {
    const ok = contentFormSchema.parse({
      jobId: "0190f0a0-0000-7000-8000-000000000000",
      productName: " Mug ",
      details: "x",
      languages: ["fr", "fr"],
    });
    assert.deepEqual(ok.languages, ["fr"]);
    assert.equal(ok.productName, "Mug");
    assert.equal(contentFormSchema.safeParse({ jobId: "nope", productName: "a", details: "b", languages: [] }).success, false);
  });

  it("config: prod refuses the offline provider unless allowed; hosted providers need their key", () => {
    assert.throws(
      () => loadConfig(workerConfigSchema, { APP_PROFILE: "prod", SMTP_TLS: "starttls" }),
      /LLM_PROVIDER: the offline provider/,
    );
    assert.equal(
      loadConfig(workerConfigSchema, {
        APP_PROFILE: "prod",
        SMTP_TLS: "starttls",
        ALLOW_OFFLINE_LLM: "true",
        ALLOW_LOCAL_PAYMENTS: "true",
        LINK_SIGNING_KEYS: "l".repeat(40),
        RESTATE_IDENTITY_KEYS: "publickeyv1_2m8tZhuvAR2NfkGVoGUoTagAe8bvRLoK7ZzVchLJm9rc",
      }).LLM_PROVIDER,
      "offline",
    );
    assert.throws(() => loadConfig(workerConfigSchema, { LLM_PROVIDER: "anthropic" }), /ANTHROPIC_API_KEY: is required/);
    assert.throws(() => loadConfig(workerConfigSchema, { LLM_PROVIDER: "openai" }), /OPENAI_API_KEY: is required/);
    assert.equal(
      loadConfig(workerConfigSchema, { LLM_PROVIDER: "openai", LLM_BASE_URL: "http://127.0.0.1:11434/v1" }).LLM_PROVIDER,
      "openai",
    );
  });
});
