/**
 * `npm run dev` as a person runs it: the whole system comes up on its own with the settings from
 * `.env` and the environment (here: a model provider, the wire fake of OpenAI), a worker killed
 * with SIGKILL is started again while the rest stays up, an order is paid on the local payment
 * page and its outcome comes back through the signed webhook, and Ctrl+C (SIGINT) stops every
 * process.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { portIsFree } from "../scripts/stack/processes.ts";
import { BrowserClient, extract, waitUntil } from "./helpers/browser-client.ts";
import { DEV_PORT_NAMES, startDevScript, type DevScript } from "./helpers/dev-script.ts";
import { startFakeLlm, type FakeLlmServer } from "./helpers/fake-llm-server.ts";
import { DEV_OPERATOR } from "../web/operators/operator-password.ts";
import { signInOperator } from "./helpers/operators.ts";

describe("npm run dev", () => {
  let dev: DevScript | null = null;
  let fake: FakeLlmServer | null = null;
  const dir = mkdtempSync(path.join(os.tmpdir(), "quayside-dev-"));
  chmodSync(dir, 0o755); // PostgreSQL runs as the postgres user when the tests run as root
  after(async () => {
    // SIGTERM: the script stops what it started (SIGKILL would leave it running).
    await dev?.proc.stop(30_000);
    await fake?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("starts everything with the user's settings, restarts a killed worker, and stops everything on Ctrl+C", async () => {
    fake = await startFakeLlm();
    // A `.env` in the folder npm runs from, as a user would write it: their provider, and an
    // address of their own that the stack's must replace.
    writeFileSync(
      path.join(dir, ".env"),
      [
        "LLM_PROVIDER=openai",
        `LLM_BASE_URL=${fake.openaiBaseUrl}   # the wire fake`,
        "OPENAI_API_KEY=sk-from-dotenv",
        "DATABASE_URL=postgres://nobody@127.0.0.1:1/nowhere",
        "",
      ].join("\n"),
    );
    const started = performance.now();
    dev = await startDevScript({
      script: "dev",
      cwd: dir,
      dataDir: path.join(dir, "data"),
      logFile: path.join(dir, "dev.log"),
      env: { LLM_MODEL: "model-from-environment" },
    });
    const banner = (await dev.waitForOutput(/Quayside is up[\s\S]*Ctrl\+C stops everything/))[0];
    process.stdout.write(`# npm run dev ready in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    assert.match(banner, new RegExp(`LLM provider openai, model model-from-environment at ${fake.openaiBaseUrl}`));
    assert.match(banner, new RegExp(`payments {5}local payment page at http://127\\.0\\.0\\.1:${dev.ports.STRIPE}`));
    const workerPid = Number(banner.match(/worker {7}pid (\d+)/)?.[1]);
    assert.ok(workerPid > 0, "the banner names the worker's pid");

    const app = `http://127.0.0.1:${dev.ports.WEB}`;
    const home = await fetch(app);
    assert.equal(home.status, 200);
    assert.match(await home.text(), /Quayside mug/);
    assert.equal((await fetch(`http://127.0.0.1:${dev.ports.MAIL_UI}/`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${dev.ports.ADMIN}/ui/`)).status, 200);
    // A fresh database has the development operator, as the banner and the README say.
    assert.match(banner, /operators {4}.*\/ops \(a new database has "ops" \/ "ops-dev-password"/);
    // npm run dev signs in as ops (the helper throws unless the sign-in answers 303).
    const operator = await signInOperator(app, DEV_OPERATOR.name, DEV_OPERATOR.password);
    assert.match((await operator.get("/ops")).html, /Signed in as <strong data-operator>ops<\/strong>/);

    // An order is paid as with Stripe: no card on our form, Pay now → the local page → a signed
    // webhook → the order goes on.
    const shopper = new BrowserClient(app);
    const orderForm = await shopper.get("/orders/new");
    assert.doesNotMatch(orderForm.html, /name="paymentMethod"/, "our form asks for no card");
    const orderId = extract(orderForm.html, "orderId");
    const placed = await shopper.postForm("/orders", {
      _csrf: extract(orderForm.html, "_csrf"),
      orderId,
      email: "dev-pays@example.com",
      "qty[MUG-QUAY]": "1",
    });
    assert.equal(placed.status, 303);
    const payUrl = await waitUntil("the Pay now link", async () => {
      const m = /class="button pay-button" href="([^"]+)"/.exec((await shopper.get(`/orders/${orderId}`)).html);
      return m?.[1] ?? null;
    });
    assert.ok(payUrl.startsWith(`http://127.0.0.1:${dev.ports.STRIPE}/c/pay/`), payUrl);
    const payPage = await fetch(payUrl);
    assert.match(await payPage.text(), /4242424242424242 pays/, "the page lists its test numbers");
    const paid = await fetch(payUrl, {
      method: "POST",
      body: new URLSearchParams({ card: "4242 4242 4242 4242" }),
      redirect: "manual",
    });
    assert.equal(paid.status, 303);
    await waitUntil("the order past its payment", async () =>
      /data-step="(paid|confirmed|shipped|fulfilled)"/.test((await shopper.get(`/orders/${orderId}`)).html),
    );

    // The worker dies; the supervisor starts a new one and nothing else goes down.
    process.kill(workerPid, "SIGKILL");
    const again = await dev.waitForOutput(/worker started again \(pid (\d+)\)/, 60_000);
    const newPid = Number(again[1]);
    assert.notEqual(newPid, workerPid);
    process.kill(newPid, 0); // throws if it is not running
    assert.match(dev.output(), /worker was killed \(SIGKILL\); starting it again/);
    assert.equal((await fetch(`${app}/ready`)).status, 200, "the web stayed up");

    // Product copy from the restarted worker goes to the provider from .env, with its key.
    const client = new BrowserClient(app);
    const form = await client.get("/content/new");
    const jobId = extract(form.html, "jobId");
    const post = await client.postForm("/content", [
      ["_csrf", extract(form.html, "_csrf")],
      ["jobId", jobId],
      ["productName", "Harbour lamp"],
      ["details", "Brass, 30 cm"],
      ["languages", "fr"],
    ]);
    assert.equal(post.status, 303);
    const stream = await client.sse(`/content/${jobId}/events`, { stopWhen: (e) => e.event === "done", timeoutMs: 60_000 });
    assert.equal(stream.events.at(-1)?.event, "done");
    assert.ok(fake.count({ route: "openai", task: "describe" }) >= 1, "the description was asked of the configured provider");
    assert.ok(fake.requests.every((r) => r.apiKey === "sk-from-dotenv" && r.model === "model-from-environment"));
    const page = await client.get(`/content/${jobId}`);
    assert.match(page.html, /Harbour lamp: a handsome/);
    assert.match(page.html, /openai · model-from-environment/);

    dev.proc.child.kill("SIGINT");
    assert.equal(await dev.proc.exited, 0);
    for (const n of DEV_PORT_NAMES) assert.ok(await portIsFree(dev.ports[n]), `port of ${n} is free again`);
    await waitUntil("the worker gone", () => {
      try {
        process.kill(newPid, 0);
        return false;
      } catch {
        return true;
      }
    });
  });
});
