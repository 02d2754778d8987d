/** Error pages: the status, a message meant for people, and a way back. */
import type { Context } from "koa";
import { html } from "../../shared/html.ts";
import { renderPage } from "./layout.view.ts";

const TITLES: Record<number, string> = {
  400: "Bad request",
  403: "Not allowed",
  404: "Not found",
  409: "Conflict",
  413: "Too large",
  415: "Unsupported form",
  422: "Check the form",
  429: "Slow down",
  503: "Temporarily unavailable",
};

export function errorPage(ctx: Context, status: number, message: string): string {
  const title = TITLES[status] ?? (status >= 500 ? "Something went wrong" : "Request refused");
  return renderPage(ctx, {
    title,
    body: html`<section class="error" role="alert">
      <h1>${title}</h1>
      <p>${message}</p>
      <p><a href="/">Back to the catalog</a></p>
    </section>`,
  });
}
