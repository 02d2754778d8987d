import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { emptySnapshot, type ProgressSnapshot } from "../../shared/progress-event.ts";
import type { CampaignView } from "../../web/adapters/campaigns-read.repo.ts";
import { campaignRowIsAhead, snapshotFromCampaignRow } from "../../web/progress/campaign-snapshot.ts";
import { recipientFromEvent } from "../../web/routes/campaign-events.routes.ts";
import { campaignPage, recipientRow } from "../../web/views/campaign-page.view.ts";

const ID = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
const opts = { csrfToken: "tok", restateUiUrl: "http://restate:9070", mailUiUrl: undefined };
const running: ProgressSnapshot = {
  seq: 3,
  step: "recipient",
  percent: 50,
  status: "running",
  message: "1 of 2 sent",
  at: "2026-01-01T00:00:00.000Z",
  invocationId: "inv_1",
  data: { sent: 1, bounced: 0, failed: 0, pending: 1, total: 2 },
};
const campaign: CampaignView = {
  id: ID,
  subject: "<b>News</b>",
  status: "sending",
  createdAt: "2026-01-01T00:00:00.000Z",
  bodyFormat: "markdown",
  invocationId: "inv_1",
  counts: { sent: 1, bounced: 0, failed: 0, pending: 1, cancelled: 0, total: 2 },
  recipients: [
    { position: 0, address: "a@x.io", status: "sent", error: null },
    { position: 1, address: "b@x.io", status: "pending", error: null },
  ],
};

describe("campaign page view", () => {
  it("while sending: live panel with counts and a CSRF-protected stop button, rows that update themselves", () => {
    const body = campaignPage(ID, campaign, running, opts).body.value;
    assert.ok(body.includes("Campaign <q>&lt;b&gt;News&lt;/b&gt;</q>"));
    assert.ok(body.includes(`sse-connect="/emails/${ID}/events"`));
    assert.match(body, /data-count="sent">1<\/dd>/);
    assert.match(body, /data-count="pending">1<\/dd>/);
    assert.ok(body.includes(`action="/emails/${ID}/cancel"`) && body.includes('name="_csrf" value="tok"'));
    assert.ok(body.includes('<tr id="rcpt-1" class="rcpt pending" data-status="pending">'));
    assert.ok(body.includes('href="http://restate:9070/ui/invocations/inv_1"'));
  });

  it("when ended: no stream, no stop button", () => {
    const body = campaignPage(ID, campaign, { ...running, status: "succeeded", percent: 100 }, opts).body.value;
    assert.doesNotMatch(body, /sse-connect|sse-swap|Stop sending/);
  });

  it("before the worker saved it: a placeholder that reloads itself", () => {
    const body = campaignPage(ID, null, emptySnapshot, opts).body.value;
    assert.ok(body.includes(`hx-get="/emails/${ID}"`) && body.includes('hx-trigger="every 1s"'));
  });

  it("escapes addresses and server replies in rows", () => {
    const row = recipientRow({ position: 4, address: "x<y>@x.io", status: "bounced", error: '550 <no> "such"' }, false).value;
    assert.ok(row.includes("x&lt;y&gt;@x.io") && row.includes("550 &lt;no&gt; &quot;such&quot;"));
    assert.doesNotMatch(row, /sse-swap/);
  });
});

describe("recipientFromEvent", () => {
  const event = {
    seq: 2,
    kind: "step",
    step: "recipient",
    percent: 50,
    status: "running",
    message: "",
    at: running.at!,
  } as const;
  it("reads a per-recipient outcome from an event's data, and ignores other events", () => {
    const data = { index: 3, address: "a@x.io", outcome: "bounced", error: "550 gone" };
    assert.deepEqual(recipientFromEvent({ ...event, data }), {
      position: 3,
      address: "a@x.io",
      status: "bounced",
      error: "550 gone",
    });
    assert.equal(recipientFromEvent({ ...event, data: { sent: 1 } }), null);
    assert.equal(recipientFromEvent({ ...event, data: { ...data, outcome: "exploded" } }), null);
  });
});

describe("campaignRowIsAhead (the stored outcomes against the stream)", () => {
  const stored = (patch: Partial<CampaignView>) => snapshotFromCampaignRow({ ...campaign, ...patch });

  it("prefers the stream while the row has recorded no more outcomes than it reports", () => {
    assert.equal(campaignRowIsAhead(stored({}), running), false);
    const completed = stored({ status: "completed", counts: { ...campaign.counts, sent: 2, pending: 0 } });
    assert.equal(campaignRowIsAhead(completed, { ...running, status: "succeeded", data: { ...running.data, sent: 2 } }), false);
  });

  it("reads an ended campaign's row as its terminal event reads", () => {
    const ended = stored({
      status: "completed",
      counts: { ...campaign.counts, sent: 2, pending: 0 },
      recipients: [...campaign.recipients, { position: 2, address: "c@x.io", status: "suppressed", error: null }],
    });
    assert.equal(ended.message, "Campaign complete: 2 of 2 sent, 1 unsubscribed (skipped)");
    assert.equal(ended.status, "succeeded");
    assert.equal(stored({ status: "cancelled" }).message, "Cancelled: 1 of 2 sent");
  });

  it("takes the row when Valkey lost newer events: more outcomes, or the end", () => {
    const bounced = stored({ counts: { ...campaign.counts, bounced: 1, pending: 0 } });
    assert.equal(campaignRowIsAhead(bounced, running), true, "one more outcome, at the same percent or not");
    assert.equal(campaignRowIsAhead(stored({ status: "cancelled" }), running), true, "cancelled with no outcome since");
    assert.equal(
      campaignRowIsAhead(stored({}), { status: "running", data: { sent: 0, bounced: 0, failed: 0 } }),
      true,
      "past the first event",
    );
  });
});
