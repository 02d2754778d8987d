/**
 * `npm run dev` as a person runs it: the whole system comes up on its own, serves the catalog,
 * and Ctrl+C (SIGINT) stops every process it started.
 */
import assert from "node:assert/strict";
import { mkdtempSync, chmodSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { freePort, portIsFree, startProcess, type Managed } from "../scripts/stack/processes.ts";
import { ROOT } from "../scripts/stack/stack.ts";
import { waitUntil } from "./helpers/browser-client.ts";

describe("npm run dev", () => {
  let dev: Managed | null = null;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "quayside-dev-"));
  chmodSync(dataDir, 0o755);
  after(async () => {
    await dev?.kill();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("starts everything, serves the app, and stops everything on Ctrl+C", async () => {
    const names = [
      "WEB",
      "WORKER",
      "INGRESS",
      "ADMIN",
      "RESTATE_NODE",
      "POSTGRES",
      "VALKEY",
      "SMTP",
      "MAIL_UI",
      "WEB_METRICS",
      "WORKER_METRICS",
    ];
    const ports: Record<string, number> = {};
    for (const n of names) ports[n] = await freePort();
    const logFile = path.join(dataDir, "dev.log");
    const started = performance.now();
    dev = startProcess({
      name: "dev",
      command: process.execPath,
      args: [path.join(ROOT, "scripts/dev.ts")],
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        DEV_DATA_DIR: dataDir,
        ...Object.fromEntries(names.map((n) => [`DEV_${n}_PORT`, String(ports[n])])),
      },
      output: logFile,
    });
    const app = `http://127.0.0.1:${ports.WEB}`;
    await waitUntil(
      "the dev stack",
      async () => {
        const res = await fetch(`${app}/ready`).catch(() => null);
        return res?.ok ?? false;
      },
      60_000,
    );
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write(`# npm run dev ready in ${seconds.toFixed(1)} s\n`);
    const home = await fetch(app);
    assert.equal(home.status, 200);
    assert.match(await home.text(), /Quayside mug/);
    const mailUi = await fetch(`http://127.0.0.1:${ports.MAIL_UI}/`);
    assert.equal(mailUi.status, 200);
    const ui = await fetch(`http://127.0.0.1:${ports.ADMIN}/ui/`);
    assert.equal(ui.status, 200);

    dev.child.kill("SIGINT");
    const code = await dev.exited;
    assert.equal(code, 0);
    for (const n of names) assert.ok(await portIsFree(ports[n] ?? 0), `port of ${n} is free again`);
  });
});
