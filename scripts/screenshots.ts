/**
 * `npm run screenshots`: re-makes the README's pictures. Starts `npm run dev` (scripts/dev.ts) on
 * free ports with a fresh data folder, places an order in Debian's Chromium, and saves the order
 * page at 100 % (docs/order-complete.png) and the order's invocation journal in the Restate UI
 * (docs/restate-journal.png). Everything it started is stopped at the end.
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { freePort, httpOk, startProcess, waitFor } from "./stack/processes.ts";
import { DEFAULT_PORTS, ROOT } from "./stack/stack.ts";
import { ensureChromium } from "./stack/system-packages.ts";

// Before anything starts: the browser tests' Chromium, installed the same way when it is missing.
const CHROMIUM = await ensureChromium();
const out = (name: string) => path.join(ROOT, "docs", name);

const dataDir = mkdtempSync(path.join(os.tmpdir(), "quayside-screenshots-"));
chmodSync(dataDir, 0o755); // PostgreSQL runs as the postgres user when this runs as root
const ports: Record<string, number> = {};
for (const key of Object.keys(DEFAULT_PORTS)) {
  ports[`DEV_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}_PORT`] = await freePort();
}
const webUrl = `http://127.0.0.1:${ports.DEV_WEB_PORT}`;
const dev = startProcess({
  name: "dev",
  command: process.execPath,
  args: [path.join(ROOT, "scripts/dev.ts")],
  cwd: ROOT,
  env: {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DEV_DATA_DIR: dataDir,
    SHIPPING_DELAY_MS: "1500",
    ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
  },
  output: path.join(dataDir, "dev.log"),
});

try {
  await waitFor("the dev stack", () => httpOk(`${webUrl}/ready`), { proc: dev, timeoutMs: 120_000 });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu"] });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(`${webUrl}/orders/new`);
    await page.fill("#qty-MUG-QUAY", "2");
    await page.fill("#qty-KNOT-BOOK", "1");
    await page.fill("#email", "ada@example.com");
    await page.getByRole("button", { name: "Place order" }).click();
    await page.waitForURL(/\/orders\/[0-9a-f-]{36}$/);
    await page.locator('#order-progress[value="100"]').waitFor({ timeout: 60_000 });
    await page.locator(".order-details table").waitFor();
    await page.screenshot({ path: out("order-complete.png"), fullPage: true });
    process.stdout.write(`wrote ${out("order-complete.png")}\n`);

    const journal = (await page.getByRole("link", { name: "open in the Restate UI" }).getAttribute("href")) ?? "";
    await page.goto(journal);
    await page.getByText("ship order").first().waitFor({ timeout: 30_000 });
    await page.waitForTimeout(500); // let the journal's timeline finish its layout
    await page.screenshot({ path: out("restate-journal.png") });
    process.stdout.write(`wrote ${out("restate-journal.png")}\n`);
  } finally {
    await browser.close();
  }
} finally {
  dev.child.kill("SIGINT");
  await dev.exited;
  rmSync(dataDir, { recursive: true, force: true });
}
