/**
 * Product copy through the web: the form (422s, PRG), ownership, the job page with its result,
 * the SSE stream with live text, "my jobs", 503 when Restate is away, the page and stream built
 * from Valkey and the stored job without asking Restate, and in Chromium, a model that answers
 * with markup: it must render as inert text.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import { Redis } from "ioredis";
import { freePort } from "../scripts/stack/processes.ts";
import { streamKey } from "../shared/progress-event.ts";
import { launchBrowser } from "./helpers/browser.ts";
import { BrowserClient, extract, waitUntil } from "./helpers/browser-client.ts";
import { startCountingProxy } from "./helpers/counting-proxy.ts";
import { startFakeLlm, type FakeLlmServer } from "./helpers/fake-llm-server.ts";
import { startInProcessWeb, type InProcessWeb } from "./helpers/in-process-web.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";

describe("content web", () => {
  let stack: TestStack;
  let fake: FakeLlmServer;
  let web: InProcessWeb;
  let redis: Redis;

  before(async () => {
    fake = await startFakeLlm();
    stack = await startTestStack("content-web", {
      env: { LLM_PROVIDER: "openai", LLM_MODEL: "gpt-4.1-mini", LLM_BASE_URL: fake.openaiBaseUrl, OPENAI_API_KEY: "sk-test" },
    });
    web = await startInProcessWeb(stack.env);
    redis = new Redis(stack.services.valkeyUrl);
  });
  after(async () => {
    redis?.disconnect();
    await web?.close();
    await stack?.stop();
    await fake?.close();
  });

  async function openForm(client: BrowserClient) {
    const page = await client.get("/content/new");
    assert.equal(page.status, 200);
    return { csrf: extract(page.html, "_csrf"), jobId: extract(page.html, "jobId") };
  }
  const jobRow = async (id: string) => (await stack.db.query("SELECT status FROM content_jobs WHERE id = $1", [id])).rows[0];

  it("re-renders the form with 422 and field messages, keeping the input and starting nothing", async () => {
    const client = new BrowserClient(web.url);
    const { csrf, jobId } = await openForm(client);
    const res = await client.postForm("/content", [
      ["_csrf", csrf],
      ["jobId", jobId],
      ["productName", "  "],
      ["details", "Blue <b>glaze</b>"],
      ["languages", "xx"],
    ]);
    assert.equal(res.status, 422);
    assert.match(res.html, /id="productName-error">Enter the product name/);
    assert.match(res.html, /id="languages-error">Choose languages from the list/);
    assert.match(res.html, /Blue &lt;b&gt;glaze&lt;\/b&gt;<\/textarea>/, "input kept, escaped");
    assert.equal(extract(res.html, "jobId"), jobId);
    assert.equal(await redis.exists(`owner:content:${jobId}`), 0);
    assert.equal(await jobRow(jobId), undefined);
    const forged = await client.postForm("/content", { jobId, productName: "x", details: "y" });
    assert.equal(forged.status, 403);
  });

  it("starts a job: 303 → page with live text over SSE → result with usage, cost and the Restate UI link", async () => {
    const client = new BrowserClient(web.url);
    const { csrf, jobId } = await openForm(client);
    fake.chunkDelayMs = 40;
    const post = await client.postForm("/content", [
      ["_csrf", csrf],
      ["jobId", jobId],
      ["productName", "Quayside mug"],
      ["details", "Stoneware, 350 ml"],
      ["languages", "fr"],
      ["languages", "ja"],
    ]);
    assert.equal(post.status, 303);
    assert.equal(post.res.headers.get("location"), `/content/${jobId}`);
    // Everything the stream stored, from the start: steps, streamed text, the end.
    const stream = await client.sse(`/content/${jobId}/events`, { lastEventId: "0", stopWhen: (e) => e.event === "done" });
    fake.chunkDelayMs = 5;
    const progress = stream.events.filter((e) => e.event === "progress");
    assert.ok(
      progress.some((e) => /data-kind="streaming"/.test(e.data)),
      "streamed text reached the stream",
    );
    assert.match(progress.at(-1)?.data ?? "", /data-status="succeeded"/);
    assert.match(progress.at(-1)?.data ?? "", /<li class="lang done" data-lang="fr">French<\/li>/);
    assert.ok(stream.events.some((e) => e.event === "result" && /hx-get="\/content\//.test(e.data)));
    const ids = stream.events.filter((e) => e.id !== null).map((e) => Number(e.id));
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
    );

    const page = await client.get(`/content/${jobId}`);
    assert.equal(page.status, 200);
    assert.match(page.html, /<div class="copy" data-lang="en">Quayside mug: a handsome/);
    assert.match(page.html, /<h3>Japanese<\/h3><div class="copy" data-lang="ja">\[Japanese\] Quayside mug/);
    assert.match(page.html, /openai · gpt-4.1-mini/);
    assert.match(page.html, /<dd>\d+ in · \d+ out<\/dd>/);
    assert.match(page.html, /class="cost">US\$0\.\d{4}/);
    assert.match(page.html, new RegExp(`href="${stack.services.restate.adminUrl}/ui/invocations/inv_`));

    const list = await client.get("/content");
    assert.match(list.html, new RegExp(`<a href="/content/${jobId}">Quayside mug</a>`));
    assert.match(list.html, /status-completed/);

    const stranger = new BrowserClient(web.url);
    await stranger.get("/");
    assert.equal((await stranger.get(`/content/${jobId}`)).status, 404);
    assert.equal((await stranger.sse(`/content/${jobId}/events`)).status, 404);
    assert.doesNotMatch((await stranger.get("/content")).html, new RegExp(jobId));
  });

  it("shows a failed job's reason on its page", async () => {
    const client = new BrowserClient(web.url);
    const { csrf, jobId } = await openForm(client);
    fake.enqueue("describe", { status: 403 });
    await client.postForm("/content", { _csrf: csrf, jobId, productName: "Denied lamp", details: "x" });
    await waitUntil("the job to fail", async () => (await jobRow(jobId))?.status === "failed");
    const page = await client.get(`/content/${jobId}`);
    assert.match(page.html, /data-status="failed"/);
    assert.match(page.html, /refused access for this API key \(HTTP 403\)/);
  });

  it("answers 503 when Restate is unreachable, and claims nothing", async () => {
    const broken = await startInProcessWeb({ ...stack.env, RESTATE_INGRESS_URL: `http://127.0.0.1:${await freePort()}` });
    try {
      const client = new BrowserClient(broken.url);
      const { csrf, jobId } = await openForm(client);
      const res = await client.postForm("/content", { _csrf: csrf, jobId, productName: "Lamp", details: "x" });
      assert.equal(res.status, 503);
      assert.match(res.html, /could not reach the job system/);
      assert.equal(await redis.exists(`owner:content:${jobId}`), 0);
    } finally {
      await broken.close();
    }
  });

  it("builds the job's page and stream from Valkey, not Restate; the stored job wins when Valkey lost the end", async () => {
    // The web reaches Restate through a proxy that records every call it makes.
    const ingress = await startCountingProxy(stack.env.RESTATE_INGRESS_URL!);
    const counted = await startInProcessWeb({ ...stack.env, RESTATE_INGRESS_URL: ingress.url });
    const statusCalls = () => ingress.count(/\/ContentGeneration\/[^/]+\/status$/);
    try {
      const client = new BrowserClient(counted.url);
      const { csrf, jobId } = await openForm(client);
      const post = await client.postForm("/content", {
        _csrf: csrf,
        jobId,
        productName: "Harbour lamp",
        details: "brass",
        languages: "fr",
      });
      assert.equal(post.status, 303);
      const live = await client.sse(`/content/${jobId}/events`, { stopWhen: (e) => e.event === "done" });
      assert.match(live.events.filter((e) => e.event === "progress").at(-1)?.data ?? "", /data-status="succeeded"/);

      const key = streamKey({ kind: "content", id: jobId });
      const [[terminalId] = []] = await redis.xrevrange(key, "+", "-", "COUNT", 1);
      const terminalSeq = Number(terminalId?.split("-")[0]);
      const page = await client.get(`/content/${jobId}`);
      assert.match(
        page.html,
        new RegExp(`data-seq="${terminalSeq}" data-status="succeeded"`),
        "the panel is the stream's last event",
      );
      assert.match(
        page.html,
        new RegExp(`href="${stack.services.restate.adminUrl}/ui/invocations/inv_`),
        "the invocation, from the job's row",
      );
      assert.match(page.html, /<div class="copy" data-lang="fr">/);
      const again = await client.sse(`/content/${jobId}/events`);
      assert.equal(again.events.at(-1)?.event, "done");
      assert.equal(again.events[0]?.id, String(terminalSeq));
      assert.equal(statusCalls(), 0, "neither the page nor its streams asked Restate");

      // Valkey lost the terminal event: the job's row, which recorded the end first, wins.
      assert.equal(await redis.xdel(key, terminalId!), 1);
      const [[lastId] = []] = await redis.xrevrange(key, "+", "-", "COUNT", 1);
      const behind = await client.get(`/content/${jobId}`);
      assert.match(behind.html, /data-status="succeeded"/);
      assert.match(behind.html, /Product copy ready/);
      const fresh = await client.sse(`/content/${jobId}/events`);
      assert.match(fresh.events.find((e) => e.event === "progress")?.data ?? "", /data-status="succeeded"/);
      assert.equal(fresh.events.at(-1)?.event, "done");
      // A browser that saw the stream's last event is sent the stored end, not left waiting.
      const resumed = await client.sse(`/content/${jobId}/events`, { lastEventId: lastId!.split("-")[0] });
      assert.match(resumed.events.find((e) => e.event === "progress")?.data ?? "", /data-status="succeeded"/);
      assert.ok(
        resumed.events.some((e) => e.event === "result"),
        "the stored result is loaded",
      );
      assert.equal(resumed.events.at(-1)?.event, "done");
      assert.equal(statusCalls(), 0);
    } finally {
      await counted.close();
      await ingress.close();
    }
  });

  describe("in Chromium", () => {
    let browser: Browser;
    before(async () => {
      browser = await launchBrowser();
    });
    after(async () => {
      await browser?.close();
    });

    it("renders markup from the model as inert text, live and stored", async () => {
      fake.describeText = `<img src=x onerror="window.__xss=1"><script>window.__xss=2</script> {product} is nice`;
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error") problems.push(m.text());
      });
      page.on("pageerror", (e) => problems.push(e.message));
      try {
        await page.goto(`${web.url}/content/new`);
        await page.fill("#productName", "Sneaky lamp");
        await page.fill("#details", "brass");
        await page.check('input[name="languages"][value="de"]');
        await page.getByRole("button", { name: "Write copy" }).click();
        await page.waitForURL(/\/content\/[0-9a-f-]{36}$/);
        await page.locator("#content-result .copy[data-lang='de']").waitFor({ timeout: 20_000 });
        assert.equal(await page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss), undefined);
        assert.equal(await page.locator("main img").count(), 0, "no element came from the model's text");
        assert.equal(await page.locator("main script").count(), 0);
        assert.match(await page.locator(".copy[data-lang='en']").innerText(), /^<img src=x onerror="window.__xss=1"><script>/);
        // The streamed text (with its own markup) was on the page while the job ran; it gave way to the stored copy.
        assert.equal(await page.locator(".live-text").count(), 0, "the streamed text is not shown twice");
        assert.equal(await page.locator("#content-progress").getAttribute("value"), "100");
        assert.deepEqual(problems, []);
      } finally {
        fake.describeText =
          "{product}: a handsome, sturdy thing for everyday use. It is made with care and built to last for years.";
        await page.close();
      }
    });
  });
});
