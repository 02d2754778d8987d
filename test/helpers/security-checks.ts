/**
 * Static checks for the security tests: what a page's markup and headers must never contain
 * (inline script, inline style, event-handler attributes, `javascript:` URLs, a weak CSP).
 */

/** Every problem found in one HTML document or fragment; empty when it is clean. */
export function inlineCodeProblems(html: string): string[] {
  const problems: string[] = [];
  for (const m of html.matchAll(/<script\b([^>]*)>/gi)) {
    if (!/\ssrc\s*=/i.test(m[1] ?? "")) problems.push(`inline <script${m[1] ?? ""}>`);
  }
  if (/<style[\s>]/i.test(html)) problems.push("a <style> element");
  // Text and attribute values are escaped by `html`, so a raw `<` always starts a tag.
  // Like browsers, a `/` between attributes counts as a space (`<svg/onload=…>`).
  for (const tag of html.matchAll(/<([a-zA-Z][^\s/>]*)((?:[\s/]+[^\s=/>]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>"']+))?)*)[\s/]*>/g)) {
    const element = (tag[1] ?? "").toLowerCase();
    for (const attr of (tag[2] ?? "").matchAll(/[\s/]+([^\s=/>]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>"']+))?/g)) {
      const name = (attr[1] ?? "").toLowerCase();
      const value = decodeEntities((attr[2] ?? "").replace(/^["']|["']$/g, ""));
      if (name === "style") problems.push(`style= on <${element}>`);
      if (/^on/.test(name)) problems.push(`${name}= on <${element}>`);
      if (/^(data-)?hx-on/.test(name)) problems.push(`${name}= (htmx inline handler) on <${element}>`);
      if (/^(data-)?hx-vals$/.test(name) && /^\s*js:/i.test(value)) problems.push(`hx-vals js: on <${element}>`);
      if (/^(href|src|action|formaction|xlink:href|(data-)?hx-(get|post|put|patch|delete)|sse-connect)$/.test(name)) {
        // Browsers drop tabs and newlines inside URLs, so `java\tscript:` counts too.
        if (/^javascript:/i.test(value.replace(/[\s\p{Cc}]/gu, ""))) problems.push(`${name}="${value}" on <${element}>`);
      }
    }
  }
  return problems;
}

function decodeEntities(s: string): string {
  return s
    .replace(/&#x([0-9a-f]+);?/gi, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);?/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&colon;/gi, ":")
    .replace(/&tab;/gi, "\t")
    .replace(/&newline;/gi, "\n")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
}

/** The CSP's directives by name, e.g. `{ "script-src": ["'self'"] }`. */
export function parseCsp(header: string): Map<string, string[]> {
  const directives = new Map<string, string[]>();
  for (const part of header.split(";")) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) directives.set(name.toLowerCase(), values);
  }
  return directives;
}

/** Every weakness in a page's security headers; empty when they are as strict as this app promises. */
export function headerProblems(headers: Headers): string[] {
  const problems: string[] = [];
  const csp = headers.get("content-security-policy");
  if (!csp) return ["no Content-Security-Policy header"];
  if (/unsafe-inline|unsafe-eval|unsafe-hashes|strict-dynamic|\*/.test(csp)) problems.push(`a weak CSP source in: ${csp}`);
  const d = parseCsp(csp);
  for (const name of ["script-src", "style-src"]) {
    const values = d.get(name) ?? d.get("default-src");
    if (!values) problems.push(`no ${name} (nor default-src)`);
    else if (values.some((v) => v !== "'self'")) problems.push(`${name} allows more than 'self': ${values.join(" ")}`);
  }
  if (d.get("frame-ancestors")?.join(" ") !== "'none'") problems.push("frame-ancestors is not 'none'");
  if (d.get("object-src")?.join(" ") !== "'none'") problems.push("object-src is not 'none'");
  if (!d.has("base-uri")) problems.push("no base-uri");
  if (!d.has("form-action")) problems.push("no form-action");
  if (headers.get("x-content-type-options") !== "nosniff") problems.push("no X-Content-Type-Options: nosniff");
  if (headers.get("x-frame-options") !== "DENY") problems.push("no X-Frame-Options: DENY");
  return problems;
}

/** The number of the fixed rate-limit window (a wall-clock minute) a moment falls in, as the web's limiter counts. */
const rateWindowOf = (ms: number) => Math.floor(ms / 60_000);

/**
 * Runs `attempts` until one run of them fell inside one rate-limit window (a wall-clock minute),
 * however long the run takes: a run that crossed a window's edge is not judged; the next starts
 * once a new window has begun, so no counter holds hits of the crossed run. `attempts` must start
 * from fresh sessions each time and leave its assertions on the limit to the caller. The limiter
 * must read the same clock (a web in the test's process, or on the same machine).
 */
export async function inOneRateWindow<T>(attempts: () => Promise<T>, tries = 3): Promise<T> {
  for (let run = 1; ; run++) {
    const started = rateWindowOf(Date.now());
    const result = await attempts();
    const ended = rateWindowOf(Date.now());
    if (ended === started) return result;
    if (run >= tries) throw new Error(`${tries} runs in a row crossed a rate-limit window's edge`);
    await new Promise((r) => setTimeout(r, (ended + 1) * 60_000 - Date.now() + 50)); // the next window's start
  }
}
