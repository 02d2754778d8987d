// Container health check that needs neither curl nor TypeScript:
//   node deploy/healthcheck.mjs http://127.0.0.1:3000/ready
// Exit 0 on a 2xx answer within 2 s, 1 on anything else (error status, refused, timeout).
/* global fetch, AbortSignal -- Node's web globals; ESLint's no-undef does not know them in plain JS */
import process from "node:process";

const url = process.argv[2];
if (!url) {
  process.stderr.write("usage: node healthcheck.mjs <url>\n");
  process.exit(1);
}
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  await res.body?.cancel();
  if (!res.ok) process.stderr.write(`${url} answered ${res.status}\n`);
  process.exit(res.ok ? 0 : 1);
} catch (err) {
  process.stderr.write(`${url}: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
