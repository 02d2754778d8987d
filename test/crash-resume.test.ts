/**
 * The README's crash-and-resume walkthrough, with real processes in the three-terminal shape:
 * `npm run services`, then a worker and a web of their own. An order is placed, the worker is
 * SIGKILLed during the shipping wait, the bar stops while Restate retries the invocation, a new
 * worker is started, and the bar goes on to 100 % with one charge and one email of each kind.
 * The shipping wait is a day long, so the kill always lands inside it; an operator's "ship now",
 * sent while no worker runs, ends it once a worker is back.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import pg from "pg";
import type { CaughtMessage } from "../scripts/stack/mail-catcher.ts";
import { freePort, portIsFree, type Managed } from "../scripts/stack/processes.ts";
import { startWeb, startWorker } from "../scripts/stack/stack.ts";
import { BrowserClient, extract, waitUntil } from "./helpers/browser-client.ts";
import type { SseEvent } from "../scripts/lib/sse-parser.ts";
import { DEV_PORT_NAMES, startDevScript, type DevScript } from "./helpers/dev-script.ts";
import { restateSql } from "./helpers/restate-admin.ts";

const SHIPPING_DELAY_MS = 86_400_000;

describe("crash and resume, three terminals", () => {
  let services: DevScript | null = null;
  let worker: Managed | null = null;
  let web: Managed | null = null;
  const dir = mkdtempSync(path.join(os.tmpdir(), "quayside-crash-"));
  chmodSync(dir, 0o755); // PostgreSQL runs as the postgres user when the tests run as root
  after(async () => {
    await Promise.allSettled([web?.stop(5_000), worker?.stop(5_000)]);
    // SIGTERM: the script stops the services it started (SIGKILL would leave them running).
    await services?.proc.stop(30_000);
    rmSync(dir, { recursive: true, force: true });
  });

  it("a worker killed mid-order is retried by Restate and the order finishes once when a worker is back", async () => {
    services = await startDevScript({
      script: "services",
      cwd: dir,
      dataDir: path.join(dir, "data"),
      logFile: path.join(dir, "services.log"),
    });
    const banner = (await services.waitForOutput(/Backing services are up[\s\S]*Ctrl\+C stops the services\./))[0];
    // Not the default ports here, so the banner lists the settings the worker and web need.
    // The local payment page's four settings are optional: this walkthrough charges test tokens.
    const settings = Object.fromEntries(
      [...banner.matchAll(/^ {2}([A-Z_]+)=(\S+)$/gm)].filter((m) => !/^(PAYMENT|STRIPE)_/.test(m[1]!)).map((m) => [m[1], m[2]]),
    );
    assert.match(banner, /^ {2}PAYMENT_PROVIDER=stripe$/m, "the banner offers the local payment page");
    for (const key of ["DATABASE_URL", "VALKEY_URL", "RESTATE_INGRESS_URL", "RESTATE_ADMIN_URL", "SMTP_PORT"]) {
      assert.ok(settings[key], `the banner gives ${key}`);
    }
    const adminUrl = settings.RESTATE_ADMIN_URL ?? "";
    const ingressUrl = settings.RESTATE_INGRESS_URL ?? "";
    const mailUi = settings.MAIL_UI_URL ?? "";
    const workerPort = await freePort();
    const webPort = await freePort();
    const base = { PATH: process.env.PATH, HOME: process.env.HOME, ...settings, LOG_LEVEL: "debug" };
    const workerEnv = {
      ...base,
      WORKER_PORT: String(workerPort),
      WORKER_PUBLIC_URL: `http://127.0.0.1:${workerPort}`,
      WORKER_METRICS_PORT: "0",
      SHIPPING_DELAY_MS: String(SHIPPING_DELAY_MS),
    };
    const startTheWorker = (n: number) => startWorker({ env: workerEnv, adminUrl, output: path.join(dir, `worker-${n}.log`) });
    worker = await startTheWorker(1);
    web = await startWeb({
      env: { ...base, WEB_PORT: String(webPort), WEB_METRICS_PORT: "0" },
      port: webPort,
      output: path.join(dir, "web.log"),
    });

    // Place an order and watch its bar, as the order page does.
    const client = new BrowserClient(`http://127.0.0.1:${webPort}`);
    const form = await client.get("/orders/new");
    const orderId = extract(form.html, "orderId");
    const email = "resume@example.com";
    const post = await client.postForm("/orders", {
      _csrf: extract(form.html, "_csrf"),
      orderId,
      email,
      paymentMethod: "pm_card_visa",
      "qty[MUG-QUAY]": "1",
    });
    assert.equal(post.status, 303);
    const seen: Array<{ percent: number; at: number }> = [];
    const percentOf = (e: SseEvent) => Number(/data-percent="(\d+)"/.exec(e.data)?.[1] ?? -1);
    const stream = client.sse(`/orders/${orderId}/events`, {
      timeoutMs: 120_000,
      stopWhen: (e) => {
        if (e.event === "progress") seen.push({ percent: percentOf(e), at: Date.now() });
        return e.event === "done";
      },
    });

    // Confirmed: the shipping wait begins. Kill the worker.
    await waitUntil("the confirmed step", () => seen.some((s) => s.percent === 70), 60_000);
    await worker.kill();

    // Restate loses the attempt in flight and keeps trying to reach a worker.
    const retrying = (handler: string) =>
      waitUntil(
        `Restate retrying the ${handler} invocation`,
        async () => {
          const rows = await restateSql(
            adminUrl,
            `SELECT id, status, retry_count, last_failure FROM sys_invocation ` +
              `WHERE target_service_name = 'OrderFulfilment' AND target_service_key = '${orderId}' AND target_handler_name = '${handler}'`,
          );
          const row = rows[0];
          return row && Number(row.retry_count) >= 2 && row.status === "backing-off" ? row : null;
        },
        60_000,
      );
    const invocation = await retrying("run");
    assert.ok(invocation.last_failure, "the UI has a failure to show");
    // An operator's "ship now" arrives while no worker runs: Restate takes it and cannot run it.
    const shipNow = await fetch(`${ingressUrl}/OrderFulfilment/${orderId}/dispatch/send`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ by: "otto" }),
    });
    assert.equal(shipNow.status, 202, await shipNow.clone().text());
    await retrying("dispatch");
    // The bar stays where it was: nothing moves without a worker.
    assert.equal(Math.max(...seen.map((s) => s.percent)), 70);
    const page = await client.get(`/orders/${orderId}`);
    assert.match(page.html, /<progress id="order-progress" max="100" value="70"/);

    const restartedAt = Date.now();
    worker = await startTheWorker(2);
    const done = await stream;
    assert.equal(done.events.at(-1)?.event, "done");
    const resumedAfter = ((seen.find((s) => s.percent > 70)?.at ?? 0) - restartedAt) / 1000;
    process.stdout.write(`# bar moved again ${resumedAfter.toFixed(1)} s after a new worker was started\n`);
    assert.equal(seen.at(-1)?.percent, 100);
    assert.ok(
      seen.filter((s) => s.percent > 70).every((s) => s.at >= restartedAt),
      "the bar moved on only after a worker was back",
    );

    const db = new pg.Client({ connectionString: settings.DATABASE_URL });
    await db.connect();
    try {
      const payments = await db.query("SELECT kind, status FROM payments WHERE order_id = $1", [orderId]);
      assert.deepEqual(payments.rows, [{ kind: "charge", status: "succeeded" }]);
      assert.equal((await db.query("SELECT status FROM orders WHERE id = $1", [orderId])).rows[0]?.status, "fulfilled");
    } finally {
      await db.end();
    }
    const tail = orderId.slice(-12);
    const subjects = await waitUntil("both emails", async () => {
      const all = (await (await fetch(`${mailUi}/api/messages`)).json()) as CaughtMessage[];
      const mine = all.filter((m) => m.envelopeTo.includes(email)).map((m) => m.subject);
      return mine.length >= 2 ? mine : null;
    });
    // A late duplicate would be an email send still to run: wait until Restate has none.
    await waitUntil("every queued email sent", async () => {
      const [row] = await restateSql(
        adminUrl,
        "SELECT count(*) AS n FROM sys_invocation WHERE target_service_name = 'EmailSender' AND status != 'completed'",
      );
      return Number(row?.n ?? 0) === 0;
    });
    const all = (await (await fetch(`${mailUi}/api/messages`)).json()) as CaughtMessage[];
    assert.deepEqual(
      all
        .filter((m) => m.envelopeTo.includes(email))
        .map((m) => m.subject)
        .sort(),
      subjects.sort(),
    );
    assert.deepEqual(subjects.sort(), [`Order confirmed: ${tail}`, `Order shipped: ${tail}`]);

    // Ctrl+C in each terminal stops only that terminal's process.
    await web.stop();
    assert.equal((await fetch(`${adminUrl}/health`)).status, 200, "the services stay up without the web");
    await worker.stop();
    services.proc.child.kill("SIGINT");
    assert.equal(await services.proc.exited, 0);
    for (const n of DEV_PORT_NAMES) assert.ok(await portIsFree(services.ports[n]), `port of ${n} is free again`);
  });
});
