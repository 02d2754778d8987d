/**
 * `npm run check:deploy`: every check of deploy/ (Kubernetes, Helm values, Compose, Caddyfile,
 * Dockerfiles, the app's env), offline. Prints the problems and exits 1 if there are any. The
 * Caddyfile is checked by Caddy itself, installed first when it is missing (root with apt-get).
 */
import { ensureSystemPrograms } from "../stack/system-packages.ts";
import { deployChecks } from "./checks.ts";

await ensureSystemPrograms(["caddy"]);
let failed = 0;
for (const [artifact, checks] of Object.entries(deployChecks)) {
  for (const [promise, check] of Object.entries(checks)) {
    let problems: string[];
    try {
      problems = check();
    } catch (err) {
      problems = [`the check threw: ${String(err)}`];
    }
    console.log(`${problems.length ? "✖" : "✔"} ${artifact}: ${promise}`);
    for (const p of problems) console.log(`    ${p}`);
    if (problems.length) failed++;
  }
}
if (failed) {
  console.log(`\n${failed} check(s) failed`);
  process.exitCode = 1;
}
