import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { classifySmtpError } from "../../worker/adapters/smtp-mailer.ts";
import { emailRequestSchema, renderEmail } from "../../worker/templates/email-templates.ts";
import { ACCESS_PARAM, createResourceLinks } from "../../shared/resource-link.ts";
import { addressHash, unsubscribeTokenId, unsubscribeUrl } from "../../shared/unsubscribe-link.ts";

const links = createResourceLinks({ keys: ["campaign-email-test-key-0123456789abcdef"], ttlSeconds: 3_600 });

const CAMPAIGN_ID = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
const UNSUBSCRIBE = unsubscribeUrl("https://shop.example/", CAMPAIGN_ID, "Ada@Example.com");
const render = (body: string, format: "markdown" | "text" = "markdown", subject = "Spring <sale>") =>
  renderEmail(
    {
      idempotencyKey: `campaign:${CAMPAIGN_ID}:ada@example.com`,
      to: "ada@example.com",
      template: "campaign",
      data: { campaignId: CAMPAIGN_ID, subject, body, format, unsubscribeUrl: UNSUBSCRIBE },
    },
    links,
  );

describe("renderEmail(campaign) from Markdown", () => {
  const email = render(
    '# Big *news*\n\nHello <script>alert(1)</script> & welcome.\n\n- one\n- [two](https://quayside.example/?a=1&b="2")\n\n[bad](javascript:alert(1)) ![pixel](https://t.example/p.gif)',
  );

  it("keeps the subject as written and escapes it in the HTML title", () => {
    assert.equal(email.subject, "Spring <sale>");
    assert.ok(email.html.includes("<title>Spring &lt;sale&gt;</title>"));
  });

  it("renders Markdown with inline styles inside the shared table layout", () => {
    assert.match(email.html, /<h1 style="[^"]+">Big <em>news<\/em><\/h1>/);
    assert.match(email.html, /<ul style="[^"]+">\s*<li style="[^"]+">one<\/li>/);
    assert.ok(email.html.includes('<table role="presentation"'));
    assert.doesNotMatch(email.html, /<style\b|class="/);
  });

  it("escapes raw HTML and attribute values instead of passing them through", () => {
    assert.ok(email.html.includes("Hello &lt;script&gt;alert(1)&lt;/script&gt; &amp; welcome."));
    assert.doesNotMatch(email.html, /<script/);
    assert.ok(email.html.includes('href="https://quayside.example/?a=1&amp;b=%222%22"'), email.html);
  });

  it("drops javascript: links and images", () => {
    assert.doesNotMatch(email.html, /href="javascript:/i);
    assert.doesNotMatch(email.html, /<img\b/);
  });

  it("sends the Markdown source as the plain-text part, with a footer naming the campaign and the way out", () => {
    assert.match(email.text, /^# Big \*news\*\n\nHello <script>/);
    assert.match(email.text, new RegExp(`\\n--\\nSent by Quayside · campaign ${CAMPAIGN_ID}\\nUnsubscribe: https://`));
  });

  it("carries RFC 8058 one-click headers with a signed link for this recipient of this campaign only", () => {
    assert.equal(email.headers?.["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click");
    const header = /^<(https:\/\/[^>]+)>$/.exec(email.headers?.["List-Unsubscribe"] ?? "");
    assert.ok(header, email.headers?.["List-Unsubscribe"]);
    const url = new URL(header[1]!);
    assert.equal(url.pathname, `/unsubscribe/${CAMPAIGN_ID}/${addressHash("ada@example.com")}`);
    assert.doesNotMatch(url.href, /ada|example\.com/i, "the address itself is not in the link");
    const token = url.searchParams.get(ACCESS_PARAM);
    assert.ok(links.verify("unsubscribe", unsubscribeTokenId(CAMPAIGN_ID, addressHash("ada@example.com")), token));
    assert.equal(links.verify("unsubscribe", unsubscribeTokenId(CAMPAIGN_ID, addressHash("bob@example.com")), token), false);
    assert.equal(links.verify("campaign", CAMPAIGN_ID, token), false, "not a token for the campaign's page");
    assert.ok(email.html.includes(`href="${url.href.replaceAll("&", "&amp;")}"`), "the footer links to it too");
    assert.ok(email.text.includes(url.href));
  });
});

describe("renderEmail(campaign) from plain text", () => {
  const email = render("Dear reader,\n<b>not bold</b>\n\nSecond paragraph.", "text");

  it("escapes the text and keeps paragraphs and line breaks", () => {
    assert.ok(email.html.includes('<p style="margin:0 0 12px;">Dear reader,<br>&lt;b&gt;not bold&lt;/b&gt;</p>'), email.html);
    assert.ok(email.html.includes('<p style="margin:0 0 12px;">Second paragraph.</p>'));
    assert.match(email.text, /^Dear reader,\n<b>not bold<\/b>\n\nSecond paragraph\./);
  });
});

describe("emailRequestSchema(campaign)", () => {
  it("accepts an idempotency key holding a long address and refuses a request without a usable unsubscribe URL", () => {
    const long = `${"x".repeat(60)}@${"y".repeat(60)}.example`;
    const req = {
      idempotencyKey: `campaign:${CAMPAIGN_ID}:${long}`,
      to: long,
      template: "campaign",
      data: { campaignId: CAMPAIGN_ID, unsubscribeUrl: UNSUBSCRIBE },
    };
    assert.equal(emailRequestSchema.safeParse(req).success, true);
    assert.equal(emailRequestSchema.safeParse({ ...req, data: { ...req.data, unsubscribeUrl: "not a url" } }).success, false);
  });
});

describe("classifySmtpError", () => {
  it("treats a 5xx about the recipient or message as a bounce", () => {
    const f = classifySmtpError({ responseCode: 550, command: "RCPT TO", response: "550 5.1.1 No such mailbox" });
    assert.deepEqual(f, { permanent: true, code: 550, message: "550 5.1.1 No such mailbox" });
    assert.equal(classifySmtpError({ responseCode: 552, command: "DATA", response: "552 too big" }).permanent, true);
  });

  it("masks the recipient's address that servers quote in their replies", () => {
    const f = classifySmtpError({ responseCode: 550, command: "RCPT TO", response: "550 5.1.1 <reader@example.net>: rejected" });
    assert.equal(f.message, "550 5.1.1 <r***@example.net>: rejected");
  });

  it("retries 4xx replies, dropped connections and timeouts", () => {
    assert.equal(classifySmtpError({ responseCode: 451, command: "RCPT TO", response: "451 greylisted" }).permanent, false);
    const refused = classifySmtpError(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ESOCKET" }));
    assert.deepEqual(refused, { permanent: false, code: null, message: "ESOCKET: connect ECONNREFUSED 127.0.0.1:1" });
    assert.equal(classifySmtpError(Object.assign(new Error("Timeout"), { code: "ETIMEDOUT" })).permanent, false);
  });

  it("retries a 5xx about our own login or TLS: fixing the settings must still deliver the mail", () => {
    assert.equal(
      classifySmtpError({ responseCode: 535, command: "AUTH PLAIN", response: "535 bad credentials" }).permanent,
      false,
    );
    assert.equal(classifySmtpError({ responseCode: 530, command: "CONN", response: "530 STARTTLS first" }).permanent, false);
  });
});
