/** The product-copy form: a hidden job id (the workflow key), the CSRF token, product, details, languages. */
import { html } from "../../shared/html.ts";
import { contentLanguages, MAX_DETAILS, MAX_PRODUCT_NAME } from "../../shared/content-job.schema.ts";
import type { Page } from "./layout.view.ts";

export interface ContentFormValues {
  jobId: string;
  productName: string;
  details: string;
  languages: string[];
}

export type ContentFieldErrors = Record<string, string | undefined>;

function fieldError(errors: ContentFieldErrors, name: string) {
  const message = errors[name];
  return message ? html`<p class="field-error" id="${name}-error">${message}</p>` : "";
}

export function contentFormPage(values: ContentFormValues, csrfToken: string, errors: ContentFieldErrors = {}): Page {
  const hasErrors = Object.values(errors).some(Boolean);
  return {
    title: "Product copy",
    body: html`<h1>Write product copy</h1>
      <p>A language model writes a short description, then translates it into the languages you pick. <a href="/content">Your jobs</a></p>
      ${hasErrors ? html`<p class="form-error" role="alert">Please correct the fields marked below.</p>` : ""}
      <form method="post" action="/content" class="content-form" novalidate>
        <input type="hidden" name="_csrf" value="${csrfToken}">
        <input type="hidden" name="jobId" value="${values.jobId}">
        ${fieldError(errors, "jobId")}
        <label for="productName">Product name</label>
        <input id="productName" name="productName" maxlength="${MAX_PRODUCT_NAME}" required value="${values.productName}">
        ${fieldError(errors, "productName")}
        <label for="details">Details (materials, size, what it is for)</label>
        <textarea id="details" name="details" rows="5" maxlength="${MAX_DETAILS}" required>${values.details}</textarea>
        ${fieldError(errors, "details")}
        <fieldset class="languages-field">
          <legend>Translate into</legend>
          ${Object.entries(contentLanguages).map(
            ([code, name]) =>
              html`<label class="checkbox"><input type="checkbox" name="languages" value="${code}" ${values.languages.includes(code) ? "checked" : ""}> ${name}</label>`,
          )}
          ${fieldError(errors, "languages")}
        </fieldset>
        <button type="submit">Write copy</button>
      </form>`,
  };
}
