/**
 * A campaign body as email HTML. Markdown goes through markdown-it with raw HTML off (it is
 * escaped), images off (no tracking pixels or data URIs) and its own link check; each element gets
 * inline styles, since mail clients drop <style>. Plain text is escaped, paragraph by paragraph.
 */
import MarkdownIt from "markdown-it";
import { html, unsafeRaw, type SafeHtml } from "../../shared/html.ts";

const STYLES: Record<string, string> = {
  p: "margin:0 0 12px;",
  h1: "margin:0 0 12px;font-size:22px;line-height:1.3;",
  h2: "margin:16px 0 10px;font-size:18px;line-height:1.3;",
  h3: "margin:14px 0 8px;font-size:16px;",
  a: "color:#12385b;",
  ul: "margin:0 0 12px;padding-left:22px;",
  ol: "margin:0 0 12px;padding-left:22px;",
  li: "margin:0 0 4px;",
  blockquote: "margin:0 0 12px;padding-left:12px;border-left:3px solid #c9d2da;color:#5b6875;",
  code: "font-family:Menlo,Consolas,monospace;font-size:13px;background:#f3f5f7;",
  pre: "margin:0 0 12px;padding:10px;background:#f3f5f7;overflow:auto;",
  hr: "border:0;border-top:1px solid #e4e8ec;margin:16px 0;",
  table: "border-collapse:collapse;margin:0 0 12px;",
  th: "border:1px solid #e4e8ec;padding:4px 8px;text-align:left;",
  td: "border:1px solid #e4e8ec;padding:4px 8px;",
};

interface StyledToken {
  tag: string;
  nesting: number;
  children: StyledToken[] | null;
  attrSet(name: string, value: string): void;
}

function styleTokens(tokens: StyledToken[]): void {
  for (const t of tokens) {
    const style = STYLES[t.tag];
    if (style && t.nesting !== -1) t.attrSet("style", style);
    if (t.children) styleTokens(t.children);
  }
}

const markdown = new MarkdownIt({ html: false, linkify: true, typographer: false });
markdown.disable("image");
// Links only to the web and to mail addresses.
markdown.validateLink = (url) => /^(https?:|mailto:)/i.test(url.trim());
markdown.core.ruler.push("inline_styles", (state) => {
  styleTokens(state.tokens);
  return true;
});

export function markdownToEmailHtml(source: string): SafeHtml {
  // markdown-it escapes text and attributes itself, and raw HTML is off: its output is vetted markup.
  return unsafeRaw(markdown.render(source));
}

export function plainTextToEmailHtml(source: string): SafeHtml {
  const paragraphs = source
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter((p) => p !== "");
  return html`${paragraphs.map((p) => {
    const lines = p.split("\n").map((line, i) => (i === 0 ? html`${line}` : html`<br>${line}`));
    return html`<p style="margin:0 0 12px;">${lines}</p>`;
  })}`;
}
