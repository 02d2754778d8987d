/**
 * EmailCampaign and EmailSender through real restate-server, PostgreSQL, Valkey and the SMTP
 * catcher, with the worker as its own process. Asserts what the sender would check: one message
 * per recipient at the catcher (by Message-ID), each with both parts, and the recorded outcomes.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { v7 as uuidv7 } from "uuid";
import type { CampaignInput } from "../shared/campaign.schema.ts";
import { streamKey } from "../shared/progress-event.ts";
import { freePort } from "../scripts/stack/processes.ts";
import { createCampaignsClient } from "../web/adapters/campaigns-client.ts";
import { createResourceLinks } from "../shared/resource-link.ts";
import { createCampaignsRepo } from "../worker/adapters/campaigns.repo.ts";
import { createSmtpMailer, createSmtpTransport, SmtpTemporaryError } from "../worker/adapters/smtp-mailer.ts";
import { PermanentError } from "../worker/errors.ts";
import { TEST_CALL_TIMEOUT_MS } from "./helpers/call-timeout.ts";
import { waitUntil } from "./helpers/browser-client.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";

describe("email campaign workflow", () => {
  let stack: TestStack;
  let campaigns: ReturnType<typeof createCampaignsClient>;
  let redis: Redis;
  const attempts = new Map<string, number>();
  let stallReleased = false;

  before(async () => {
    stack = await startTestStack("campaign-workflow", {
      env: { CAMPAIGN_SENDS_PER_SECOND: "1000", EMAIL_RETRY_INITIAL_MS: "50", EMAIL_RETRY_MAX_MS: "200" },
    });
    campaigns = createCampaignsClient({ ingressUrl: stack.services.restate.ingressUrl, timeoutMs: TEST_CALL_TIMEOUT_MS });
    redis = new Redis(stack.services.valkeyUrl, { maxRetriesPerRequest: 1 });
    // The catcher answers by address: 451 twice then OK, always 550, or 451 until a test releases it.
    stack.services.mail.setRecipientPolicy((address) => {
      const n = (attempts.get(address) ?? 0) + 1;
      attempts.set(address, n);
      if (address.startsWith("greylisted@") && n <= 2) return { code: 451, message: "4.7.1 Greylisted, try again later" };
      if (address.startsWith("gone@")) return { code: 550, message: "5.1.1 No such mailbox" };
      if (address.startsWith("stall@") && !stallReleased) return { code: 451, message: "4.3.0 Busy" };
      return null;
    });
  });
  after(async () => {
    redis?.disconnect();
    await stack?.stop();
  });

  const campaign = (recipients: string[], subject = "Harbour news"): CampaignInput => ({
    campaignId: uuidv7(),
    subject,
    body: "# Spring *sale*\n\nEverything <b>must</b> go. [Shop](https://quayside.example/)",
    format: "markdown",
    recipients,
  });
  const result = (id: string) =>
    fetch(`${stack.services.restate.ingressUrl}/restate/workflow/EmailCampaign/${id}/attach`).then(async (r) => ({
      status: r.status,
      body: await r.text(),
    }));
  const messagesFor = (id: string) => stack.services.mail.messages.filter((m) => (m.text ?? "").includes(`campaign ${id}`));
  const rows = async (id: string) =>
    (
      await stack.db.query(
        "SELECT address, position, status, message_id, error FROM campaign_recipients WHERE campaign_id = $1 ORDER BY position",
        [id],
      )
    ).rows;
  const emailRow = async (key: string) =>
    (await stack.db.query("SELECT * FROM emails WHERE idempotency_key = $1", [key])).rows[0];

  it("delivers a 50-recipient campaign: one message per recipient, each with HTML and text, k rising to N", async () => {
    // 50 show one message each and k rising one by one as well as 200 did, at a quarter of the sends.
    const N = 50;
    const recipients = Array.from({ length: N }, (_, i) => `reader${i}@bulk.example`);
    const input = campaign(recipients);
    await campaigns.submit(input);
    const done = await result(input.campaignId);
    assert.equal(done.status, 200, done.body);
    assert.deepEqual(JSON.parse(done.body), {
      campaignId: input.campaignId,
      status: "completed",
      sent: N,
      bounced: 0,
      failed: 0,
      cancelled: 0,
    });

    const mails = messagesFor(input.campaignId);
    assert.equal(mails.length, N);
    assert.deepEqual(mails.map((m) => m.envelopeTo.join()).sort(), [...recipients].sort());
    assert.equal(new Set(mails.map((m) => m.messageId)).size, N);
    for (const m of mails) {
      assert.equal(m.subject, "Harbour news");
      assert.match(m.html ?? "", /<h1 style="[^"]+">Spring <em>sale<\/em><\/h1>/);
      assert.match(m.html ?? "", /Everything &lt;b&gt;must&lt;\/b&gt; go/);
      assert.match(m.text ?? "", /^# Spring \*sale\*/);
    }
    const stored = await rows(input.campaignId);
    assert.equal(stored.length, N);
    for (const r of stored) {
      assert.equal(r.status, "sent");
      const m = mails.find((x) => x.envelopeTo.includes(r.address));
      assert.equal(r.message_id, m?.messageId, `Message-ID recorded for ${r.address}`);
      assert.equal((await emailRow(`campaign:${input.campaignId}:${r.address}`)).message_id, m?.messageId);
    }

    const events = (await redis.xrange(streamKey({ kind: "campaign", id: input.campaignId }), "-", "+")).map(([, f]) =>
      JSON.parse(f[1] ?? "{}"),
    );
    assert.deepEqual(
      events.map((e) => e.seq),
      events.map((_, i) => i + 1),
    );
    const sent = events.map((e) => e.data?.sent);
    assert.deepEqual(sent, [0, ...Array.from({ length: N }, (_, i) => i + 1), N], "k rises one by one to N");
    assert.equal(events.at(-1)?.status, "succeeded");
    assert.equal(events.at(-1)?.message, `Campaign complete: ${N} of ${N} sent`);
    assert.equal(events[1]?.data?.outcome, "sent");
    const status = await campaigns.status(input.campaignId);
    assert.equal(status.status, "succeeded");
    assert.equal(status.data?.pending, 0);
  });

  it("retries a 451 with backoff and delivers once; records a 550 as bounced and completes the campaign", async () => {
    const input = campaign(["greylisted@retry.example", "gone@retry.example", "fine@retry.example"]);
    await campaigns.submit(input);
    const done = await result(input.campaignId);
    assert.equal(done.status, 200, done.body);
    assert.deepEqual(JSON.parse(done.body), {
      campaignId: input.campaignId,
      status: "completed",
      sent: 2,
      bounced: 1,
      failed: 0,
      cancelled: 0,
    });

    const mails = messagesFor(input.campaignId);
    assert.deepEqual(mails.map((m) => m.envelopeTo.join()).sort(), ["fine@retry.example", "greylisted@retry.example"]);
    const greylisted = await emailRow(`campaign:${input.campaignId}:greylisted@retry.example`);
    assert.equal(greylisted.status, "sent");
    assert.equal(greylisted.attempts, 3, "two 451s, then accepted");
    const gone = await emailRow(`campaign:${input.campaignId}:gone@retry.example`);
    assert.equal(gone.status, "bounced");
    assert.equal(gone.smtp_code, 550);
    assert.equal(gone.attempts, 1, "a 5xx is not retried");
    const byAddress = Object.fromEntries((await rows(input.campaignId)).map((r) => [r.address, r]));
    assert.equal(byAddress["gone@retry.example"].status, "bounced");
    assert.match(byAddress["gone@retry.example"].error, /No such mailbox/);
    assert.equal(byAddress["greylisted@retry.example"].status, "sent");
    const row = (await stack.db.query("SELECT status FROM email_campaigns WHERE id = $1", [input.campaignId])).rows[0];
    assert.equal(row.status, "completed");
  });

  it("survives a SIGKILL of the worker mid-campaign: still exactly one message per recipient", async () => {
    // The 31st recipient is refused with 451 until released, so the kill lands while sends 1–30 are
    // done and recorded, and none is between the server's 250 and the row update (the one window
    // where a crash can duplicate a message, documented in docs/reliability.md).
    stallReleased = false;
    const recipients = Array.from({ length: 60 }, (_, i) => (i === 30 ? "stall@crash.example" : `reader${i}@crash.example`));
    const input = campaign(recipients);
    await campaigns.submit(input);
    const key = `campaign:${input.campaignId}:stall@crash.example`;
    await waitUntil("the stalled recipient to be retried", async () => ((await emailRow(key))?.attempts ?? 0) >= 2);
    assert.equal(messagesFor(input.campaignId).length, 30);
    await stack.worker?.kill();
    stallReleased = true;
    await stack.startWorker();
    const done = await result(input.campaignId);
    assert.equal(done.status, 200, done.body);
    assert.equal(JSON.parse(done.body).sent, 60);
    const mails = messagesFor(input.campaignId);
    assert.equal(mails.length, 60, "one message per recipient, none twice");
    assert.deepEqual(mails.map((m) => m.envelopeTo.join()).sort(), [...recipients].sort());
    assert.ok((await rows(input.campaignId)).every((r) => r.status === "sent"));
  });

  it("EmailSender's mailer: connection failures are temporary and recorded; a bounce is never sent again", async () => {
    const request = (key: string, to: string) => ({
      idempotencyKey: key,
      to,
      template: "order-links" as const,
      data: { orders: [] },
    });
    const campaignContent = createCampaignsRepo(stack.db).content;
    const links = createResourceLinks({ keys: ["campaign-test-link-key-0123456789abcdef"], ttlSeconds: 3_600 });
    const down = createSmtpTransport({ host: "127.0.0.1", port: await freePort(), tls: "none", poolSize: 1 });
    const up = createSmtpTransport({ host: "127.0.0.1", port: stack.ports.smtp, tls: "none", poolSize: 1 });
    try {
      const unreachable = createSmtpMailer(stack.db, down, "Shop <shop@quayside.test>", links, campaignContent);
      await assert.rejects(unreachable.send(request("direct:down", "x@direct.example")), SmtpTemporaryError);
      const row = await emailRow("direct:down");
      assert.equal(row.status, "pending");
      assert.equal(row.attempts, 1);
      assert.match(row.error, /ECONNREFUSED/);

      const mailer = createSmtpMailer(stack.db, up, "Shop <shop@quayside.test>", links, campaignContent);
      const before = stack.services.mail.messages.length;
      await assert.rejects(mailer.send(request("direct:gone", "gone@direct.example")), PermanentError);
      await assert.rejects(mailer.send(request("direct:gone", "gone@direct.example")), /No such mailbox/);
      assert.equal((await emailRow("direct:gone")).attempts, 2);
      assert.equal(attempts.get("gone@direct.example"), 1, "the second call did not talk to the server");
      const sent = await mailer.send(request("direct:down", "x@direct.example"));
      assert.equal(sent.messageId, (await emailRow("direct:down")).message_id);
      assert.equal(stack.services.mail.messages.length, before + 1);
    } finally {
      down.close();
      up.close();
    }
  });

  it("cancel stops the remaining sends; the campaign ends cancelled", async () => {
    stallReleased = false;
    const recipients = Array.from({ length: 20 }, (_, i) => (i === 5 ? "stall@cancel.example" : `reader${i}@cancel.example`));
    const input = campaign(recipients);
    await campaigns.submit(input);
    await waitUntil(
      "the stalled recipient",
      async () => ((await emailRow(`campaign:${input.campaignId}:stall@cancel.example`))?.attempts ?? 0) >= 1,
    );
    assert.equal(await campaigns.cancel(input.campaignId), true);
    stallReleased = true;
    const done = await result(input.campaignId);
    assert.equal(done.status, 200, done.body);
    assert.deepEqual(JSON.parse(done.body), {
      campaignId: input.campaignId,
      status: "cancelled",
      sent: 6,
      bounced: 0,
      failed: 0,
      cancelled: 14,
    });
    assert.equal(messagesFor(input.campaignId).length, 6, "the message in flight finishes, nothing after it is sent");
    const stored = await rows(input.campaignId);
    assert.deepEqual(
      stored.map((r) => r.status),
      [...Array<string>(6).fill("sent"), ...Array<string>(14).fill("cancelled")],
    );
    const status = await campaigns.status(input.campaignId);
    assert.equal(status.status, "cancelled");
    assert.match(status.message, /^Cancelled: 6 of 20 sent/);
    assert.equal(await campaigns.cancel(input.campaignId), false, "an ended campaign has nothing to cancel");
  });
});
