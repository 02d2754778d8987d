/** Email campaign shapes at the two boundaries: the web form and the workflow's input. */
import { z } from "zod";

export const campaignIdSchema = z.uuid({ version: "v7", message: "is not a valid campaign id" });

export const MAX_SUBJECT_LENGTH = 200;
export const MAX_BODY_LENGTH = 20_000;
/** The hard ceiling; `CAMPAIGN_MAX_RECIPIENTS` sets the configured cap below it. */
export const RECIPIENTS_CEILING = 10_000;

export const bodyFormats = { markdown: "Markdown", text: "Plain text" } as const;
export const bodyFormatSchema = z.enum(Object.keys(bodyFormats) as [keyof typeof bodyFormats], { error: "Choose a format" });

const recipientSchema = z.email().max(254);

const subjectSchema = z
  .string()
  .trim()
  .min(1, "Enter a subject")
  .max(MAX_SUBJECT_LENGTH, `At most ${MAX_SUBJECT_LENGTH} characters`)
  .refine((s) => !/[\r\n]/.test(s), "The subject must be one line");

export const campaignInputSchema = z.object({
  campaignId: campaignIdSchema,
  subject: subjectSchema,
  body: z.string().min(1).max(MAX_BODY_LENGTH),
  format: bodyFormatSchema,
  recipients: z
    .array(recipientSchema)
    .min(1)
    .max(RECIPIENTS_CEILING)
    .refine((r) => new Set(r).size === r.length, "Recipients must be unique"),
});
export type CampaignInput = z.infer<typeof campaignInputSchema>;

export interface ParsedRecipients {
  addresses: string[];
  invalid: string[];
}

/** Splits a pasted list (commas, semicolons, spaces or lines) into addresses, lower-cased and de-duplicated in order. */
export function parseRecipients(raw: string): ParsedRecipients {
  const seen = new Set<string>();
  const invalid: string[] = [];
  for (const token of raw.split(/[\s,;]+/)) {
    const address = token.trim().toLowerCase();
    if (address === "") continue;
    if (!recipientSchema.safeParse(address).success) invalid.push(token.trim());
    else seen.add(address);
  }
  return { addresses: [...seen], invalid };
}

/** The HTML form, for a given recipient cap: flat string fields in, the workflow's input out. */
export function campaignFormSchema(maxRecipients: number) {
  return z
    .object({
      campaignId: campaignIdSchema,
      subject: subjectSchema,
      body: z
        .string()
        .refine((b) => b.trim() !== "", "Write the message")
        .refine((b) => b.length <= MAX_BODY_LENGTH, `At most ${MAX_BODY_LENGTH} characters`),
      format: bodyFormatSchema,
      recipients: z.string().transform((raw, ctx) => {
        const { addresses, invalid } = parseRecipients(raw);
        if (invalid.length > 0) {
          const shown = invalid.slice(0, 5).join(", ") + (invalid.length > 5 ? ` and ${invalid.length - 5} more` : "");
          ctx.addIssue({ code: "custom", message: `Not valid email addresses: ${shown}` });
        } else if (addresses.length === 0) {
          ctx.addIssue({ code: "custom", message: "Enter at least one recipient" });
        } else if (addresses.length > maxRecipients) {
          ctx.addIssue({ code: "custom", message: `At most ${maxRecipients} recipients (you entered ${addresses.length})` });
        }
        return addresses;
      }),
    })
    .transform((f): CampaignInput => ({ ...f, body: f.body.replace(/\r\n/g, "\n") }));
}

export type CampaignFormValues = Record<"campaignId" | "subject" | "body" | "format" | "recipients", string>;
