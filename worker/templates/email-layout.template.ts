/** The HTML frame every email shares: table layout and inline styles, as mail clients need. */
import { html, type SafeHtml } from "../../shared/html.ts";

export function emailLayout(title: string, body: SafeHtml): string {
  return html`<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${title}</title></head>
  <body style="margin:0;padding:0;background:#f3f5f7;font-family:Helvetica,Arial,sans-serif;color:#1b2733;">
    <table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f3f5f7;">
      <tr><td align="center" style="padding:24px;">
        <table role="presentation" width="560" cellpadding="0" cellspacing="0" style="background:#ffffff;border-radius:6px;">
          <tr><td style="padding:20px 28px;background:#12385b;color:#ffffff;font-size:20px;font-weight:bold;border-radius:6px 6px 0 0;">Quayside</td></tr>
          <tr><td style="padding:24px 28px;font-size:15px;line-height:1.5;">${body}</td></tr>
        </table>
      </td></tr>
    </table>
  </body>
</html>`.value;
}
