/** Content-generation shapes at the two boundaries: the web form and the workflow's input. */
import { z } from "zod";

export const contentJobIdSchema = z.uuid({ version: "v7", message: "is not a valid job id" });

/** The languages a description can be translated into (BCP 47 tag → name shown to people). */
export const contentLanguages = {
  fr: "French",
  de: "German",
  es: "Spanish",
  it: "Italian",
  nl: "Dutch",
  pt: "Portuguese",
  ja: "Japanese",
} as const;
export type ContentLanguage = keyof typeof contentLanguages;
export const contentLanguageSchema = z.enum(Object.keys(contentLanguages) as [ContentLanguage, ...ContentLanguage[]]);

export const MAX_PRODUCT_NAME = 120;
export const MAX_DETAILS = 2000;

export const contentJobInputSchema = z.object({
  jobId: contentJobIdSchema,
  productName: z.string().trim().min(1).max(MAX_PRODUCT_NAME),
  details: z.string().trim().min(1).max(MAX_DETAILS),
  languages: z.array(contentLanguageSchema).max(Object.keys(contentLanguages).length),
});
export type ContentJobInput = z.infer<typeof contentJobInputSchema>;

/** The HTML form: flat strings, `languages` repeated once per ticked box. */
export const contentFormSchema = z.object({
  jobId: contentJobIdSchema,
  productName: z.string().trim().min(1, "Enter the product name").max(MAX_PRODUCT_NAME, `At most ${MAX_PRODUCT_NAME} characters`),
  details: z.string().trim().min(1, "Describe the product in a few words").max(MAX_DETAILS, `At most ${MAX_DETAILS} characters`),
  languages: z
    .array(z.string())
    .max(Object.keys(contentLanguages).length, "Too many languages")
    .pipe(z.array(z.enum(contentLanguageSchema.options, { error: "Choose languages from the list" })))
    .transform((l) => [...new Set(l)]),
});

export const contentJobStatusSchema = z.enum(["running", "completed", "failed"]);
export type ContentJobStatus = z.infer<typeof contentJobStatusSchema>;

/** The provider names the worker can be configured with; `offline` never calls a model. */
export const llmProviderNames = ["openai", "anthropic", "offline"] as const;
export type LlmProviderName = (typeof llmProviderNames)[number];

/** What the page says about who wrote a text. */
export function providerLabel(provider: string, model: string): string {
  return provider === "offline" ? "offline provider (deterministic text, no model was called)" : `${provider} · ${model}`;
}
