/**
 * A form that did not validate goes back to its user: the first message for each field, and the
 * form page again with 422, the input kept and nothing stored.
 */
import type { Context } from "koa";
import type { z } from "zod";
import { renderPage, type Page } from "./views/layout.view.ts";

/** The first message for each field, keyed by `fieldOf(issue.path)`. */
export function fieldErrors<K extends string>(
  issues: readonly z.core.$ZodIssue[],
  fieldOf: (path: PropertyKey[]) => K,
): Partial<Record<K, string>> {
  const errors: Partial<Record<K, string>> = {};
  for (const issue of issues) errors[fieldOf(issue.path)] ??= issue.message;
  return errors;
}

/** Answers 422 with the form page (which already carries the values and the errors). */
export function rejectForm(ctx: Context, page: Page): void {
  ctx.status = 422;
  ctx.type = "html";
  ctx.body = renderPage(ctx, page);
}
