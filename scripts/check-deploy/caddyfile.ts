/** deploy/Caddyfile: enough of its grammar to check the proxy to the web keeps SSE streaming. */

export interface CaddyBlock {
  tokens: string[];
  children: CaddyBlock[];
}

/** Enough of the Caddyfile grammar for these checks: one directive per line, `{`/`}` nesting, `#` comments. */
export function parseCaddyfile(text: string): CaddyBlock {
  const root: CaddyBlock = { tokens: [], children: [] };
  const stack = [root];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/(^|\s)#.*$/, "").trim();
    if (!line) continue;
    if (line === "}") {
      stack.pop();
      continue;
    }
    const opens = line.endsWith("{");
    const block: CaddyBlock = { tokens: line.replace(/\{$/, "").trim().split(/\s+/).filter(Boolean), children: [] };
    stack.at(-1)!.children.push(block);
    if (opens) stack.push(block);
  }
  return root;
}

export const descendants = (b: CaddyBlock): CaddyBlock[] => b.children.flatMap((c) => [c, ...descendants(c)]);

export function caddyProblems(text: string): string[] {
  const problems: string[] = [];
  const root = parseCaddyfile(text);
  const sites = root.children.filter((b) => b.tokens.length > 0);
  const site = sites.find((b) => b.tokens.includes("{$DOMAIN}"));
  if (!site) return ["no site block for {$DOMAIN}"];
  const proxies = descendants(site).filter((b) => b.tokens[0] === "reverse_proxy");
  const toWeb = proxies.filter(
    (p) =>
      p.tokens.some((t) => /^(http:\/\/)?web:3000$/.test(t)) ||
      p.children.some((c) => c.tokens.join(" ") === "dynamic a web 3000" || c.tokens.join(" ") === "to web:3000"),
  );
  if (toWeb.length === 0) problems.push("no reverse_proxy to web:3000");
  for (const p of toWeb) {
    if (!p.children.some((c) => c.tokens.join(" ") === "flush_interval -1"))
      problems.push("reverse_proxy to web lacks `flush_interval -1` (SSE)");
  }
  for (const e of descendants(site).filter((b) => b.tokens[0] === "encode")) {
    const types = descendants(e).filter((b) => b.tokens[0] === "header" && b.tokens[1] === "Content-Type");
    const compressesSse = types.length === 0 || types.some((t) => /text\/(\*|event-stream)/.test(t.tokens[2] ?? ""));
    if (compressesSse) problems.push("encode may compress text/event-stream");
  }
  const writeTimeout = descendants(root).find((b) => b.tokens[0] === "write" || b.tokens[0] === "write_timeout");
  if (writeTimeout && !proxies.some((p) => descendants(p).includes(writeTimeout)))
    problems.push("a server write timeout would cut SSE streams");
  return problems;
}
