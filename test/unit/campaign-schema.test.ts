import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { campaignFormSchema, campaignInputSchema, parseRecipients } from "../../shared/campaign.schema.ts";

const ID = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
const form = (patch: Record<string, string> = {}) => ({
  campaignId: ID,
  subject: "  News  ",
  body: "Hello\r\nthere",
  format: "markdown",
  recipients: "a@example.com",
  ...patch,
});
const errorsOf = (max: number, values: Record<string, string>) => {
  const r = campaignFormSchema(max).safeParse(values);
  return r.success ? {} : Object.fromEntries(r.error.issues.map((i) => [String(i.path[0]), i.message]));
};

describe("parseRecipients", () => {
  it("splits on lines, commas, semicolons and spaces; lower-cases and de-duplicates in order", () => {
    const r = parseRecipients("B@Example.com, a@example.com;\n\n b@example.com  c@example.com\r\n");
    assert.deepEqual(r, { addresses: ["b@example.com", "a@example.com", "c@example.com"], invalid: [] });
  });

  it("reports what is not an address, as typed", () => {
    assert.deepEqual(parseRecipients("ok@example.com Nope @x.com").invalid, ["Nope", "@x.com"]);
  });
});

describe("campaignFormSchema", () => {
  it("turns the form into the workflow input: trimmed subject, LF line ends, address list", () => {
    const r = campaignFormSchema(10).parse(form({ recipients: "a@example.com\nA@example.com\nb@example.com" }));
    assert.deepEqual(r, {
      campaignId: ID,
      subject: "News",
      body: "Hello\nthere",
      format: "markdown",
      recipients: ["a@example.com", "b@example.com"],
    });
    assert.equal(campaignInputSchema.safeParse(r).success, true);
  });

  it("names each bad field", () => {
    assert.deepEqual(errorsOf(10, form({ subject: " ", body: " ", format: "html", recipients: "x" })), {
      subject: "Enter a subject",
      body: "Write the message",
      format: "Choose a format",
      recipients: "Not valid email addresses: x",
    });
    assert.deepEqual(errorsOf(10, form({ campaignId: "42" })), { campaignId: "is not a valid campaign id" });
    assert.deepEqual(errorsOf(10, form({ subject: "a\nBcc: x@example.com" })), { subject: "The subject must be one line" });
  });

  it("caps the recipients after de-duplication, and lists at most five bad ones", () => {
    assert.deepEqual(errorsOf(2, form({ recipients: "a@x.io b@x.io c@x.io" })), {
      recipients: "At most 2 recipients (you entered 3)",
    });
    assert.deepEqual(errorsOf(2, form({ recipients: "a@x.io A@x.io" })), {});
    assert.deepEqual(errorsOf(2, form({ recipients: "1 2 3 4 5 6 7" })), {
      recipients: "Not valid email addresses: 1, 2, 3, 4, 5 and 2 more",
    });
    assert.deepEqual(errorsOf(2, form({ recipients: "" })), { recipients: "Enter at least one recipient" });
  });
});

describe("campaignInputSchema", () => {
  it("refuses duplicate recipients (the workflow's own check at its boundary)", () => {
    const input = { campaignId: ID, subject: "s", body: "b", format: "text", recipients: ["a@x.io", "a@x.io"] };
    assert.equal(campaignInputSchema.safeParse(input).success, false);
  });
});
