/**
 * The local Stripe's hosted pages, server-rendered without JavaScript: pay (by card or SEPA
 * debit), the 3-D Secure challenge, and the page a paid or expired session shows. See server.ts.
 */
import type http from "node:http";
import { html, type SafeHtml } from "../../../shared/html.ts";
import {
  CARD_3DS,
  CARD_DECLINED,
  CARD_SUCCEEDS,
  IBAN_FAILS,
  IBAN_SUCCEEDS,
  type CheckoutState,
  type FakeCheckoutSession,
  type PageAnswer,
} from "./wire.ts";

// ---- pages ------------------------------------------------------------------------------------

export function layout(title: string, content: SafeHtml): SafeHtml {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${title} · Test payment</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f6f8fa;color:#1a1a1a}
main{max-width:28rem;margin:2rem auto;padding:1.5rem;background:#fff;border:1px solid #d0d7de;border-radius:8px}
label{display:block;font-weight:600;margin-top:1rem}
input{width:100%;box-sizing:border-box;padding:.5rem;font:inherit;border:1px solid #6e7781;border-radius:4px}
button{margin-top:.75rem;padding:.5rem 1rem;font:inherit;border:0;border-radius:4px;background:#0a2540;color:#fff}
.error{color:#a40e26;font-weight:600}
section{margin-top:1.5rem;border-top:1px solid #d0d7de}
</style>
</head>
<body>
<main>
${content}
</main>
</body>
</html>
`;
}

export function payPageOf(st: CheckoutState, problem?: string): SafeHtml {
  const s = st.session;
  const action = `/c/pay/${encodeURIComponent(s.id)}`;
  const total = money(s.amount_total, s.currency);
  return layout(
    `Pay ${total}`,
    html`<h1>Pay ${total}</h1>
<p>Test mode: no real money moves.</p>
<details class="test-numbers"><summary>Test numbers</summary>
<p>Cards: ${CARD_SUCCEEDS} pays; ${CARD_DECLINED} is declined; ${CARD_3DS} asks for 3-D Secure first.
SEPA Direct Debit (when offered): ${IBAN_SUCCEEDS} processes, then succeeds; ${IBAN_FAILS} processes, then fails.</p>
</details>
<ul aria-label="What you are paying for">
${st.lineItems.map((i) => html`<li>${i.name} × ${i.quantity}: ${money(i.unitAmount * i.quantity, s.currency)}</li>\n`)}
</ul>
${problem ? html`<p class="error" role="alert">${problem}</p>` : ""}
<section aria-labelledby="by-card">
<h2 id="by-card">Pay by card</h2>
<form method="post" action="${action}">
<label for="card">Card number</label>
<input id="card" name="card" inputmode="numeric" autocomplete="cc-number" required>
<button type="submit">Pay</button>
</form>
</section>
${
  s.payment_method_types.includes("sepa_debit")
    ? html`<section aria-labelledby="by-sepa">
<h2 id="by-sepa">Pay by SEPA Direct Debit</h2>
<form method="post" action="${action}">
<label for="iban">IBAN</label>
<input id="iban" name="iban" autocomplete="off" required>
<button type="submit">Authorise the debit</button>
</form>
</section>`
    : ""
}
${s.cancel_url ? html`<p><a href="${s.cancel_url}">Back to the shop</a></p>` : ""}`,
  );
}

export function challengePage(st: CheckoutState): SafeHtml {
  return layout(
    "Authenticate your payment",
    html`<h1>Authenticate your payment</h1>
<p>Your bank asks you to confirm this payment of ${money(st.session.amount_total, st.session.currency)}.</p>
<form method="post" action="/c/3ds/${encodeURIComponent(st.session.id)}">
<button type="submit" name="result" value="complete">Complete authentication</button>
<button type="submit" name="result" value="fail">Fail authentication</button>
</form>`,
  );
}

export function closedPage(st: CheckoutState): SafeHtml {
  const s = st.session;
  if (s.status === "expired")
    return layout(
      "Expired",
      html`<h1>This payment page has expired</h1>
${s.cancel_url ? html`<p><a href="${s.cancel_url}">Back to the shop</a></p>` : ""}`,
    );
  const to = successUrl(s);
  return layout(
    "Payment complete",
    html`<h1>${s.payment_status === "paid" ? "This payment is complete" : "This payment has been submitted"}</h1>
${to ? html`<p><a href="${to}">Return to the shop</a></p>` : ""}`,
  );
}

export function respondPage(res: http.ServerResponse, a: PageAnswer): void {
  const headers: Record<string, string> = { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" };
  if (a.location) headers.location = a.location;
  res.writeHead(a.status, headers);
  res.end(a.page ? a.page.toString() : "");
}

export function successUrl(s: FakeCheckoutSession): string | null {
  return s.success_url ? s.success_url.replaceAll("{CHECKOUT_SESSION_ID}", s.id) : null;
}

export function money(minor: number, currency: string): string {
  const format = new Intl.NumberFormat("en-IE", { style: "currency", currency: currency.toUpperCase() });
  return format.format(minor / 10 ** (format.resolvedOptions().maximumFractionDigits ?? 2));
}
