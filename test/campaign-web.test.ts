/**
 * Email campaigns through the web app against real PostgreSQL, Valkey, restate-server and a
 * running worker: the form's 422s, PRG, ownership, the live page and its SSE stream (built from
 * Valkey and the stored campaign without asking Restate), stopping.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { freePort } from "../scripts/stack/processes.ts";
import { streamKey } from "../shared/progress-event.ts";
import { BrowserClient, extract, waitUntil } from "./helpers/browser-client.ts";
import { startCountingProxy } from "./helpers/counting-proxy.ts";
import type { SseEvent } from "../scripts/lib/sse-parser.ts";
import { startInProcessWeb, type InProcessWeb } from "./helpers/in-process-web.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";

describe("email campaigns on the web", () => {
  let stack: TestStack;
  let web: InProcessWeb;
  let redis: Redis;
  let stallReleased = false;

  before(async () => {
    stack = await startTestStack("campaign-web", {
      env: {
        CAMPAIGN_MAX_RECIPIENTS: "5",
        CAMPAIGN_SENDS_PER_SECOND: "200",
        EMAIL_RETRY_INITIAL_MS: "50",
        EMAIL_RETRY_MAX_MS: "200",
      },
    });
    web = await startInProcessWeb(stack.env);
    redis = new Redis(stack.services.valkeyUrl);
    stack.services.mail.setRecipientPolicy((address) => {
      if (address.startsWith("gone@")) return { code: 550, message: "5.1.1 No such mailbox" };
      if (address.startsWith("stall@") && !stallReleased) return { code: 451, message: "4.3.0 Busy" };
      return null;
    });
  });
  after(async () => {
    redis?.disconnect();
    await web?.close();
    await stack?.stop();
  });

  async function openForm(client: BrowserClient) {
    const page = await client.get("/emails/new");
    assert.equal(page.status, 200);
    return { csrf: extract(page.html, "_csrf"), campaignId: extract(page.html, "campaignId") };
  }
  const sentOf = (e: SseEvent) => Number(/data-sent="(\d+)"/.exec(e.data)?.[1] ?? NaN);
  const fields = (csrf: string, campaignId: string, patch: Record<string, string> = {}) => ({
    _csrf: csrf,
    campaignId,
    subject: "Harbour news",
    format: "markdown",
    body: "Hello **all**",
    recipients: "a@web.example\nb@web.example",
    ...patch,
  });

  for (const [name, patch, field, message] of [
    [
      "a bad address",
      { recipients: "ok@web.example, not-an-address" },
      "recipients",
      "Not valid email addresses: not-an-address",
    ],
    [
      "too many recipients",
      { recipients: "1@x.example 2@x.example 3@x.example 4@x.example 5@x.example 6@x.example" },
      "recipients",
      "At most 5 recipients (you entered 6)",
    ],
    ["no recipients", { recipients: " \n " }, "recipients", "Enter at least one recipient"],
    ["an empty subject", { subject: "   " }, "subject", "Enter a subject"],
    ["an empty body", { body: "" }, "body", "Write the message"],
  ] as const) {
    it(`re-renders the form with 422 for ${name}, keeping the input and starting nothing`, async () => {
      const client = new BrowserClient(web.url);
      const { csrf, campaignId } = await openForm(client);
      const res = await client.postForm("/emails", fields(csrf, campaignId, patch));
      assert.equal(res.status, 422);
      assert.match(res.html, new RegExp(`id="${field}-error">${message.replace(/[()]/g, "\\$&")}`));
      assert.equal(extract(res.html, "campaignId"), campaignId);
      if ("recipients" in patch) assert.ok(res.html.includes(`>${patch.recipients}</textarea>`), "the recipients are kept");
      assert.equal(await redis.exists(`owner:campaign:${campaignId}`), 0);
      assert.equal(
        (await stack.db.query("SELECT count(*)::int AS n FROM email_campaigns WHERE id = $1", [campaignId])).rows[0].n,
        0,
      );
    });
  }

  it("sends a campaign: 303 → page, SSE shows k rising to N with each recipient's outcome, bounce included", async () => {
    const client = new BrowserClient(web.url);
    const { csrf, campaignId } = await openForm(client);
    const recipients = "one@web.example\nTWO@web.example, gone@web.example; one@web.example";
    const post = await client.postForm("/emails", fields(csrf, campaignId, { recipients }));
    assert.equal(post.status, 303);
    assert.equal(post.res.headers.get("location"), `/emails/${campaignId}`);

    const live = await client.sse(`/emails/${campaignId}/events`);
    assert.equal(live.status, 200);
    assert.equal(live.events.at(-1)?.event, "done");
    const bar = live.events.filter((e) => e.event === "progress").map(sentOf);
    assert.deepEqual(
      bar,
      [...bar].sort((a, b) => a - b),
      "k never goes down",
    );
    assert.equal(bar.at(-1), 2);

    // Replayed from the start, the stream holds every step: k = 0, 1, 2, 2 (the bounce), then the end.
    const replay = await client.sse(`/emails/${campaignId}/events`, { lastEventId: "0" });
    const progress = replay.events.filter((e) => e.event === "progress");
    assert.deepEqual(progress.map(sentOf), [0, 1, 2, 2, 2]);
    assert.match(progress.at(-1)?.data ?? "", /Campaign complete: 2 of 3 sent, 1 bounced/);
    // Each recipient's row travels out of band inside the progress event that reports it.
    const rows = progress.flatMap((e) => [
      ...e.data.matchAll(/<template><tr id="(rcpt-\d+)"[^>]*hx-swap-oob="outerHTML">[\s\S]*?<\/tr><\/template>/g),
    ]);
    assert.deepEqual(
      rows.map((m) => m[1]),
      ["rcpt-0", "rcpt-1", "rcpt-2"],
    );
    assert.match(rows[1]?.[0] ?? "", /two@web\.example<\/td><td>Sent/);
    assert.match(rows[2]?.[0] ?? "", /gone@web\.example<\/td><td>Bounced<\/td><td class="detail">[^<]*No such mailbox/);

    const page = await client.get(`/emails/${campaignId}`);
    assert.equal(page.status, 200);
    assert.match(page.html, /<progress id="campaign-bar" max="100" value="100"/);
    assert.match(page.html, /data-count="sent">2</);
    assert.match(page.html, /data-count="bounced">1</);
    assert.equal((page.html.match(/<tr id="rcpt-\d+"/g) ?? []).length, 3, "duplicates were removed");
    assert.doesNotMatch(page.html, /Stop sending/);
    assert.ok(page.html.includes(`href="${stack.services.mail.uiUrl}"`), "dev links to the mail catcher");
    assert.doesNotMatch(page.html, /\sstyle=/, "no inline style");
    assert.equal(stack.services.mail.messages.filter((m) => m.envelopeTo.includes("two@web.example")).length, 1);

    const mine = await client.get("/emails");
    assert.ok(mine.html.includes(`href="/emails/${campaignId}"`));
    assert.match(mine.html, /2 of 3/);
  });

  it("one-click unsubscribe (RFC 8058): each message carries it, the POST suppresses the address, the next campaign skips it", async () => {
    const client = new BrowserClient(web.url);
    const run = async (recipients: string) => {
      const { csrf, campaignId } = await openForm(client);
      const post = await client.postForm("/emails", fields(csrf, campaignId, { recipients }));
      assert.equal(post.status, 303);
      const live = await client.sse(`/emails/${campaignId}/events`);
      assert.equal(live.events.at(-1)?.event, "done");
      return campaignId;
    };
    const messagesTo = (address: string, campaignId: string) =>
      stack.services.mail.messages.filter((m) => m.envelopeTo.includes(address) && (m.text ?? "").includes(campaignId));

    const first = await run("leaver@unsub.example\nstayer@unsub.example");
    const [message] = messagesTo("leaver@unsub.example", first);
    assert.ok(message, "the first campaign reached the address");
    const header = (name: string) =>
      Object.entries(message.headers).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1] ?? "";
    assert.equal(header("List-Unsubscribe-Post"), "List-Unsubscribe=One-Click");
    const link = /<(http[^>]+)>/.exec(header("List-Unsubscribe"))?.[1];
    assert.ok(link, `List-Unsubscribe: ${header("List-Unsubscribe")}`);
    assert.ok((message.text ?? "").includes(link), "the same link is in the footer");
    const url = new URL(link);
    assert.match(url.pathname, new RegExp(`^/unsubscribe/${first}/[0-9a-f]{64}$`));
    assert.doesNotMatch(link, /leaver/, "the link does not hold the address");

    // As a mail client sends it: no session, no CSRF token, only the signed URL; from a webmail
    // page that is a cross-site POST, which the same-origin check lets through for this route only.
    const oneClick = (target: string) =>
      fetch(new URL(target, web.url), {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          origin: "https://webmail.example",
          "sec-fetch-site": "cross-site",
        },
        body: "List-Unsubscribe=One-Click",
        redirect: "manual",
      });
    const otherHash = `${url.pathname.slice(0, -64)}${"0".repeat(64)}${url.search}`;
    const badToken = `${url.pathname}?access=${url.searchParams.get("access")!.replace(/.$/, (c) => (c === "A" ? "B" : "A"))}`;
    for (const [what, target] of [
      ["a token signed for another address", otherHash],
      ["a forged token", badToken],
      ["no token", url.pathname],
    ] as const) {
      const refused = await oneClick(target);
      assert.equal(refused.status, 404, what);
    }
    assert.equal((await stack.db.query("SELECT count(*)::int AS n FROM email_suppressions")).rows[0].n, 0, "nothing recorded");

    const page = await fetch(new URL(`${url.pathname}${url.search}`, web.url));
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<form method="post"/, "a person following the link confirms with a button");
    assert.equal((await stack.db.query("SELECT count(*)::int AS n FROM email_suppressions")).rows[0].n, 0, "GET changes nothing");

    const done = await oneClick(`${url.pathname}${url.search}`);
    assert.equal(done.status, 200);
    assert.match(await done.text(), /Unsubscribed/);
    assert.equal((await oneClick(`${url.pathname}${url.search}`)).status, 200, "a repeat is harmless");

    const second = await run("LEAVER@unsub.example\nstayer@unsub.example");
    assert.equal(messagesTo("leaver@unsub.example", second).length, 0, "the next campaign skipped the address");
    assert.equal(messagesTo("stayer@unsub.example", second).length, 1, "and sent to the others");
    const secondPage = await client.get(`/emails/${second}`);
    assert.match(secondPage.html, /leaver@unsub\.example<\/td><td>Not sent \(unsubscribed\)/i);
    assert.match(secondPage.html, /data-count="sent">1</);
    assert.match(secondPage.html, /value="100"/, "the campaign completes over the addresses it sends to");
  });

  it("shows a campaign, its stream and its stop button only to the session that started it", async () => {
    const owner = new BrowserClient(web.url);
    const { csrf, campaignId } = await openForm(owner);
    assert.equal((await owner.postForm("/emails", fields(csrf, campaignId))).status, 303);
    const stranger = new BrowserClient(web.url);
    const { csrf: strangerCsrf } = await openForm(stranger);
    assert.equal((await stranger.get(`/emails/${campaignId}`)).status, 404);
    assert.equal((await stranger.sse(`/emails/${campaignId}/events`)).status, 404);
    assert.equal((await stranger.postForm(`/emails/${campaignId}/cancel`, { _csrf: strangerCsrf })).status, 404);
    assert.equal(
      (await owner.postForm("/emails", fields(strangerCsrf, campaignId))).status,
      403,
      "CSRF token of another session",
    );
    assert.doesNotMatch((await stranger.get("/emails")).html, new RegExp(campaignId));
  });

  it("stops a campaign from its page: the message in flight finishes, the rest are not sent", async () => {
    stallReleased = false;
    const client = new BrowserClient(web.url);
    const { csrf, campaignId } = await openForm(client);
    const recipients = "first@stop.example stall@stop.example third@stop.example fourth@stop.example";
    assert.equal((await client.postForm("/emails", fields(csrf, campaignId, { recipients }))).status, 303);
    const page = await waitUntil("the stalled send", async () => {
      const p = await client.get(`/emails/${campaignId}`);
      return /data-count="sent">1</.test(p.html) ? p.html : null;
    });
    assert.match(page, /Stop sending/);
    assert.equal((await client.postForm(`/emails/${campaignId}/cancel`, {})).status, 403, "the stop button needs the CSRF token");
    const stop = await client.postForm(`/emails/${campaignId}/cancel`, { _csrf: extract(page, "_csrf") });
    assert.equal(stop.status, 303);
    assert.equal(stop.res.headers.get("location"), `/emails/${campaignId}`);
    stallReleased = true;
    const done = await client.sse(`/emails/${campaignId}/events`);
    assert.match(done.events.filter((e) => e.event === "progress").at(-1)?.data ?? "", /Cancelled: 2 of 4 sent/);
    const after = await client.get(`/emails/${campaignId}`);
    assert.equal((after.html.match(/Not sent \(cancelled\)/g) ?? []).length, 2);
    assert.equal(stack.services.mail.messages.filter((m) => m.envelopeTo.join().endsWith("@stop.example")).length, 2);
  });

  it("builds the campaign's page and stream from Valkey, not Restate; the stored outcomes win when Valkey lost the end", async () => {
    // The web reaches Restate through a proxy that records every call it makes.
    const ingress = await startCountingProxy(stack.env.RESTATE_INGRESS_URL!);
    const counted = await startInProcessWeb({ ...stack.env, RESTATE_INGRESS_URL: ingress.url });
    const statusCalls = () => ingress.count(/\/EmailCampaign\/[^/]+\/status$/);
    try {
      const client = new BrowserClient(counted.url);
      const { csrf, campaignId } = await openForm(client);
      assert.equal((await client.postForm("/emails", fields(csrf, campaignId))).status, 303);
      const live = await client.sse(`/emails/${campaignId}/events`);
      assert.equal(live.events.at(-1)?.event, "done");

      const key = streamKey({ kind: "campaign", id: campaignId });
      const [[terminalId] = []] = await redis.xrevrange(key, "+", "-", "COUNT", 1);
      const terminalSeq = Number(terminalId?.split("-")[0]);
      const page = await client.get(`/emails/${campaignId}`);
      assert.match(
        page.html,
        new RegExp(`data-seq="${terminalSeq}" data-status="succeeded"`),
        "the panel is the stream's last event",
      );
      assert.match(page.html, /Campaign complete: 2 of 2 sent/);
      assert.match(
        page.html,
        new RegExp(`href="${stack.services.restate.adminUrl}/ui/invocations/inv_`),
        "the invocation, from the row",
      );
      assert.equal((page.html.match(/<tr id="rcpt-\d+"/g) ?? []).length, 2);
      const again = await client.sse(`/emails/${campaignId}/events`);
      assert.equal(again.events[0]?.id, String(terminalSeq));
      assert.equal(again.events.at(-1)?.event, "done");
      assert.equal(statusCalls(), 0, "neither the page nor its streams asked Restate");

      // Valkey lost the terminal event: the campaign's row, marked finished first, wins.
      assert.equal(await redis.xdel(key, terminalId!), 1);
      const [[lastId] = []] = await redis.xrevrange(key, "+", "-", "COUNT", 1);
      const behind = await client.get(`/emails/${campaignId}`);
      assert.match(behind.html, /data-status="succeeded" data-percent="100" data-sent="2"/);
      assert.match(behind.html, /Campaign complete: 2 of 2 sent/, "the row reads as the lost event did");
      assert.doesNotMatch(behind.html, /Stop sending/);
      const fresh = await client.sse(`/emails/${campaignId}/events`);
      assert.match(fresh.events.find((e) => e.event === "progress")?.data ?? "", /data-status="succeeded"/);
      assert.equal(fresh.events.at(-1)?.event, "done");
      // A browser that saw the stream's last event is sent the stored end, not left waiting.
      const resumed = await client.sse(`/emails/${campaignId}/events`, { lastEventId: lastId!.split("-")[0] });
      assert.match(resumed.events.find((e) => e.event === "progress")?.data ?? "", /data-status="succeeded"/);
      assert.equal(resumed.events.at(-1)?.event, "done");
      assert.equal(statusCalls(), 0);
    } finally {
      await counted.close();
      await ingress.close();
    }
  });

  it("answers 503 and starts nothing when Restate is unreachable", async () => {
    const offline = await startInProcessWeb({ ...stack.env, RESTATE_INGRESS_URL: `http://127.0.0.1:${await freePort()}` });
    try {
      const client = new BrowserClient(offline.url);
      const { csrf, campaignId } = await openForm(client);
      const res = await client.postForm("/emails", fields(csrf, campaignId));
      assert.equal(res.status, 503);
      assert.match(res.html, /nothing was sent/);
      assert.equal(await redis.exists(`owner:campaign:${campaignId}`), 0);
    } finally {
      await offline.close();
    }
  });
});
