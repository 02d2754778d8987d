/**
 * The operator page and the customer's order controls through the web app: operator accounts made
 * by `npm run operator`, sign-in by name (scrypt, rate-limited), approvals recorded with the
 * operator's name and shown in the order's timeline, cancel with CSRF, "My orders", and the
 * submission rate limit.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { runMigrations } from "../migrations/runner.ts";
import { createLogger } from "../shared/logger.ts";
import { freePort } from "../scripts/stack/processes.ts";
import { ROOT } from "../scripts/stack/stack.ts";
import { createOperatorsRepo } from "../web/operators/operators.repo.ts";
import { createOrdersClient } from "../web/adapters/orders-client.ts";
import { TEST_CALL_TIMEOUT_MS } from "./helpers/call-timeout.ts";
import { BrowserClient, extract, waitUntil } from "./helpers/browser-client.ts";
import { startInProcessWeb, type InProcessWeb } from "./helpers/in-process-web.ts";
import { DEV_OPERATOR } from "../web/operators/operator-password.ts";
import { addOperator, operatorCommand, signInOperator } from "./helpers/operators.ts";
import { inOneRateWindow } from "./helpers/security-checks.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";

const OPS_PASSWORD = "correct horse battery staple";
const BEN_PASSWORD = "ben's own long password";

describe("operations and order controls", () => {
  let stack: TestStack;
  let web: InProcessWeb;

  before(async () => {
    stack = await startTestStack("ops", {
      env: { APPROVAL_THRESHOLD_CENTS: "15000", SHIPPING_DELAY_MS: "86400000", LOGIN_RATE_LIMIT_PER_MINUTE: "5" },
    });
    web = await startInProcessWeb(stack.env);
    await addOperator(stack.env, "ben", BEN_PASSWORD);
  });
  after(async () => {
    await web?.close();
    await stack?.stop();
  });

  async function placeOrder(client: BrowserClient, qty: Record<string, string>, email = "ops@example.com") {
    const form = await client.get("/orders/new");
    const orderId = extract(form.html, "orderId");
    const fields: Record<string, string> = { _csrf: extract(form.html, "_csrf"), orderId, email, paymentMethod: "pm_card_visa" };
    for (const [sku, n] of Object.entries(qty)) fields[`qty[${sku}]`] = n;
    const res = await client.postForm("/orders", fields);
    assert.equal(res.status, 303);
    return orderId;
  }
  const orderStatus = async (id: string) =>
    (await stack.db.query("SELECT status FROM orders WHERE id = $1", [id])).rows[0]?.status;

  const signIn = (name: string, password: string) => signInOperator(web.url, name, password);

  it("creates and resets operators with `npm run operator`, the password from stdin and never echoed", async () => {
    const added = await operatorCommand(stack.env, ["add", "Ana"], { stdin: `${OPS_PASSWORD}\n` });
    assert.equal(added.code, 0, added.stderr);
    assert.ok(!`${added.stdout}${added.stderr}`.includes(OPS_PASSWORD), "the password is not echoed or logged");
    // A person runs it: it answers in a sentence, not a JSON log line.
    assert.equal(added.stdout, "ana is added: sign in at /ops with that password.\n");
    const row = (await stack.db.query("SELECT name, password_hash FROM operators WHERE name = 'ana'")).rows[0];
    assert.ok(row, "the name is stored lower-case");
    assert.match(row.password_hash, /^scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    assert.ok(!row.password_hash.includes(OPS_PASSWORD));

    const again = await operatorCommand(stack.env, ["add", "ana"], { stdin: "another long password\n" });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /exists: use reset/);
    const short = await operatorCommand(stack.env, ["add", "cleo"], { stdin: "short\n" });
    assert.equal(short.code, 1);
    assert.match(short.stderr, /at least 12 characters/);
    const devPassword = await operatorCommand(stack.env, ["add", "cleo"], { stdin: "ops-dev-password\n" });
    assert.match(devPassword.stderr, /development password/);
    const badName = await operatorCommand(stack.env, ["add", "<script>"], { stdin: `${OPS_PASSWORD}\n` });
    assert.equal(badName.code, 2);
    assert.equal((await operatorCommand(stack.env, ["remove", "ana"])).code, 2, "unknown subcommands print the usage");
    assert.equal((await stack.db.query("SELECT count(*)::int AS n FROM operators WHERE name = 'cleo'")).rows[0].n, 0);

    // A reset from the environment: a new salt, and the old password stops working.
    const reset = await operatorCommand(stack.env, ["reset", "cleo"], { extraEnv: { OPERATOR_PASSWORD: OPS_PASSWORD } });
    assert.equal(reset.code, 1, "there is no cleo to reset");
    await addOperator(stack.env, "cleo", "cleo's first password");
    const before = (await stack.db.query("SELECT password_hash FROM operators WHERE name = 'cleo'")).rows[0].password_hash;
    const cleo = await signIn("cleo", "cleo's first password");
    const reset2 = await operatorCommand(stack.env, ["reset", "cleo"], {
      extraEnv: { OPERATOR_PASSWORD: "cleo's second password" },
    });
    assert.equal(reset2.code, 0, reset2.stderr);
    assert.equal(reset2.stdout, "cleo has a new password (and is enabled): their earlier sessions are signed out.\n");
    const after = (await stack.db.query("SELECT password_hash FROM operators WHERE name = 'cleo'")).rows[0].password_hash;
    assert.notEqual(after, before);
    assert.match((await cleo.get("/ops")).html, /Operator sign-in/, "a reset ends the sessions signed in before it");
    const cleoAgain = await signIn("cleo", "cleo's second password");

    // Disabling ends access at once, even for a session that is signed in.
    assert.match((await cleoAgain.get("/ops")).html, /Signed in as <strong data-operator>cleo<\/strong>/);
    const disabled = await operatorCommand(stack.env, ["disable", "cleo"]);
    assert.equal(disabled.code, 0, disabled.stderr);
    assert.equal(disabled.stdout, "cleo is disabled: their access to /ops has ended.\n");
    assert.match((await cleoAgain.get("/ops")).html, /Operator sign-in/);
    const list = await operatorCommand(stack.env, ["list"]);
    assert.match(list.stdout, /^ana\tenabled\t/m);
    assert.match(list.stdout, /^cleo\tdisabled\t/m);
    // Its errors are sentences too: a database it cannot reach, and nothing changed.
    const unreachable = await operatorCommand({ ...stack.env, DATABASE_URL: "postgres://nobody@127.0.0.1:1/none" }, ["list"]);
    assert.equal(unreachable.code, 1);
    assert.equal(
      unreachable.stderr,
      "The operator command failed, so nothing was changed: the database cannot be reached (check DATABASE_URL and that PostgreSQL is running).\n",
    );
    assert.equal(unreachable.stdout, "");
  });

  /** Web processes started by the test that have not exited yet: stopped (by pid) at the end whatever happened. */
  const webProcesses = new Set<ChildProcess>();
  after(() => {
    for (const child of webProcesses) child.kill("SIGKILL");
  });

  /**
   * Starts `web/main.ts` on a database of its own; resolves with its output once it listens (then
   * stopped with SIGTERM) or exits. One that does neither within a minute is killed and reported.
   */
  async function startWebProcess(database: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
    const url = new URL(stack.env.DATABASE_URL!);
    url.pathname = `/${database}`;
    const child = spawn(process.execPath, [path.join(ROOT, "web/main.ts")], {
      env: {
        ...stack.env,
        DATABASE_URL: url.toString(),
        WEB_PORT: String(await freePort()),
        WEB_METRICS_PORT: "0",
        LOG_LEVEL: "info",
        LOG_FORMAT: "json",
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    webProcesses.add(child);
    let output = "";
    const exited = new Promise<number | null>((resolve) =>
      child.once("exit", (code) => {
        webProcesses.delete(child);
        resolve(code);
      }),
    );
    const stuck = setTimeout(() => {
      output += "\n(the web neither listened nor exited within a minute: killed)";
      child.kill("SIGKILL");
    }, 60_000);
    const onData = (d: Buffer) => {
      output += String(d);
      if (output.includes("web listening") && !child.killed) child.kill("SIGTERM");
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    const code = await exited;
    clearTimeout(stuck);
    return { code, output };
  }

  it("prod refuses to start with no operator or with the development password; dev creates the development operator", async () => {
    const prod = {
      APP_PROFILE: "prod",
      SESSION_SECRET: "a-long-random-production-session-secret-0123456789",
      LINK_SIGNING_KEYS: "a-long-random-production-link-signing-key-0123456789",
    };
    const admin = new pg.Client({ connectionString: stack.services.postgres.adminUrl });
    await admin.connect();
    for (const db of ["ops_prod_check", "ops_dev_check"]) await admin.query(`CREATE DATABASE ${db} OWNER quayside`);
    await admin.end();
    for (const db of ["ops_prod_check", "ops_dev_check"]) {
      const url = new URL(stack.env.DATABASE_URL!);
      url.pathname = `/${db}`;
      await runMigrations(url.toString(), createLogger({ name: "test", level: "silent", format: "json" }));
    }
    const prodUrl = new URL(stack.env.DATABASE_URL!);
    prodUrl.pathname = "/ops_prod_check";
    const pool = new pg.Pool({ connectionString: prodUrl.toString(), max: 1 });
    try {
      const none = await startWebProcess("ops_prod_check", prod);
      assert.equal(none.code, 1, none.output);
      assert.match(none.output, /refusing to start: no operator accounts/);

      // An account made some other way (a dev database copied to prod) with the development password.
      const accounts = createOperatorsRepo(pool);
      assert.equal(await accounts.setPassword("ops", "ops-dev-password", "add"), true);
      const weak = await startWebProcess("ops_prod_check", prod);
      assert.equal(weak.code, 1, weak.output);
      assert.match(weak.output, /the development password is refused in prod; operator\(s\) ops still use it/);

      assert.equal(await accounts.setPassword("ops", "a proper production password", "reset"), true);
      const ok = await startWebProcess("ops_prod_check", prod);
      assert.match(ok.output, /web listening/);
      assert.equal(ok.code, 0, ok.output);

      // A disabled account does not count: prod refuses again.
      assert.equal(await accounts.disable("ops"), true);
      assert.match((await startWebProcess("ops_prod_check", prod)).output, /no operator accounts/);
    } finally {
      await pool.end();
    }

    const dev = await startWebProcess("ops_dev_check", { APP_PROFILE: "dev" });
    assert.match(dev.output, /created the development operator/);
    assert.ok(!dev.output.includes("ops-dev-password"), "the password is in the README, not the logs");
    const devUrl = new URL(stack.env.DATABASE_URL!);
    devUrl.pathname = "/ops_dev_check";
    const devWeb = await startInProcessWeb({ ...stack.env, DATABASE_URL: devUrl.toString() });
    try {
      // npm run dev can sign in as ops (the helper throws unless the sign-in answers 303).
      const client = await signInOperator(devWeb.url, DEV_OPERATOR.name, DEV_OPERATOR.password);
      assert.match((await client.get("/ops")).html, /Signed in as <strong data-operator>ops<\/strong>/);
    } finally {
      await devWeb.close();
    }
  });

  it("keeps the operator page behind a name and password, rate-limited", async () => {
    // Six sign-in attempts from one session, all inside one limiter minute.
    const { page, denied, wrong, unknown, empty, statuses, limited } = await inOneRateWindow(async () => {
      const stranger = new BrowserClient(web.url);
      const page = await stranger.get("/ops");
      const csrf = extract(page.html, "_csrf");
      const denied = await stranger.postForm(`/ops/orders/${"0".repeat(8)}-0000-7000-8000-000000000000/approve`, { _csrf: csrf });
      const wrong = await stranger.postForm("/ops/login", { _csrf: csrf, name: "ben", password: "not ben's password" });
      const unknown = await stranger.postForm("/ops/login", { _csrf: csrf, name: "nobody", password: BEN_PASSWORD });
      const empty = await stranger.postForm("/ops/login", { _csrf: csrf, name: "", password: "" });
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++)
        statuses.push((await stranger.postForm("/ops/login", { _csrf: csrf, name: "ben", password: `guess-${i}` })).status);
      const limited = await stranger.postForm("/ops/login", { _csrf: csrf, name: "ben", password: BEN_PASSWORD });
      return { page, denied, wrong, unknown, empty, statuses, limited };
    });
    assert.equal(page.status, 200);
    assert.match(page.html, /Operator sign-in/);
    assert.doesNotMatch(page.html, /Awaiting approval/);
    assert.equal(denied.status, 403);
    assert.equal(wrong.status, 401);
    assert.match(wrong.html, /Wrong name or password/);
    assert.match(wrong.html, /name="name"[^>]*value="ben"/, "the name is kept");
    assert.equal(unknown.status, 401);
    assert.match(unknown.html, /Wrong name or password/, "the same answer whether or not the name exists");
    assert.equal(empty.status, 422);
    assert.match(empty.html, /id="name-error">Enter your operator name/);
    assert.match(empty.html, /id="password-error">Enter your password/);
    assert.deepEqual(statuses, [401, 401, 429], "five attempts a minute, whatever their answer");
    assert.equal(limited.status, 429, "even the right password waits out the limit");
    assert.ok(Number(limited.res.headers.get("retry-after")) >= 1);
  });

  it("lists orders awaiting approval; an operator approves one, it is fulfilled, and the decision carries their name", async () => {
    const customer = new BrowserClient(web.url);
    const orderId = await placeOrder(customer, { "LAMP-HARBOUR": "2" }, "approve-me@example.com");
    await waitUntil("approval wait", async () => (await orderStatus(orderId)) === "awaiting_approval");
    const waiting = await customer.get(`/orders/${orderId}`);
    assert.match(waiting.html, /data-status="waiting"/);
    assert.match(waiting.html, /Awaiting approval/);

    const operator = await signIn("ben", BEN_PASSWORD);
    const dashboard = await operator.get("/ops");
    assert.match(dashboard.html, /Signed in as <strong data-operator>ben<\/strong>/);
    assert.match(dashboard.html, /Awaiting approval \(\d+\)/);
    assert.match(dashboard.html, new RegExp(`action="/ops/orders/${orderId}/approve"`));
    assert.match(dashboard.html, /\/ui\/invocations\/inv_/, "each order links to its invocation");
    const approved = await operator.postForm(`/ops/orders/${orderId}/approve`, { _csrf: extract(dashboard.html, "_csrf") });
    assert.equal(approved.status, 303);
    assert.equal(approved.res.headers.get("location"), "/ops?done=approve");
    // Orders wait a day to ship (so a cancel test can hold one there): the operator ships it now.
    // The workflow's own snapshot, which "ship now" reads: it is written just after the row says "confirmed".
    const workflow = createOrdersClient({ ingressUrl: stack.services.restate.ingressUrl, timeoutMs: TEST_CALL_TIMEOUT_MS });
    await waitUntil("shipping wait", async () => (await workflow.status(orderId)).step === "confirmed");
    const shipNow = await operator.postForm(`/ops/orders/${orderId}/dispatch`, { _csrf: extract(dashboard.html, "_csrf") });
    assert.equal(shipNow.status, 303, "ship now is accepted in the shipping wait");
    await waitUntil("fulfilment", async () => (await orderStatus(orderId)) === "fulfilled");
    const again = await operator.postForm(`/ops/orders/${orderId}/approve`, { _csrf: extract(dashboard.html, "_csrf") });
    assert.equal(again.status, 409, "a finished order is not waiting for a decision");

    const decisions = await stack.db.query(
      "SELECT operator, action, outcome FROM operator_decisions WHERE order_id = $1 ORDER BY id",
      [orderId],
    );
    assert.deepEqual(
      decisions.rows,
      [
        { operator: "ben", action: "approve", outcome: "accepted" },
        { operator: "ben", action: "dispatch", outcome: "accepted" },
      ],
      "the refused approval is not stored; the ship now is",
    );
    const order = await stack.db.query("SELECT approval_decision, approval_decided_by FROM orders WHERE id = $1", [orderId]);
    assert.deepEqual(order.rows[0], { approval_decision: "approved", approval_decided_by: "ben" });
    const listed = (await operator.get(`/ops?q=${orderId}`)).html;
    assert.match(listed, /<small class="decided-by">approved by ben<\/small>/, "the operator's list says who approved");
    const timeline = await customer.get(`/orders/${orderId}`);
    assert.match(
      timeline.html,
      /data-step="approved"><time[^>]*>[^<]*<\/time> Approved by ben</,
      "the customer's timeline says who approved",
    );
  });

  it("records a rejection with the operator's name, in the audit table and the order's timeline", async () => {
    const customer = new BrowserClient(web.url);
    const orderId = await placeOrder(customer, { "LAMP-HARBOUR": "2" }, "reject-me@example.com");
    await waitUntil("approval wait", async () => (await orderStatus(orderId)) === "awaiting_approval");
    const ben = await signIn("ben", BEN_PASSWORD);
    const dashboard = await ben.get("/ops");
    const rejected = await ben.postForm(`/ops/orders/${orderId}/reject`, { _csrf: extract(dashboard.html, "_csrf") });
    assert.equal(rejected.res.headers.get("location"), "/ops?done=reject");
    await waitUntil("rejection", async () => (await orderStatus(orderId)) === "rejected");
    const row = await stack.db.query("SELECT status_reason, approval_decided_by FROM orders WHERE id = $1", [orderId]);
    assert.deepEqual(row.rows[0], { status_reason: "Rejected by ben", approval_decided_by: "ben" });
    const audit = await stack.db.query("SELECT operator, action, outcome FROM operator_decisions WHERE order_id = $1", [orderId]);
    assert.deepEqual(audit.rows, [{ operator: "ben", action: "reject", outcome: "accepted" }]);
    const page = await customer.get(`/orders/${orderId}`);
    assert.match(page.html, /data-step="rejected"><time[^>]*>[^<]*<\/time> Rejected by ben</);
  });

  it("lets the customer cancel with a CSRF-protected button until the order ships", async () => {
    const customer = new BrowserClient(web.url);
    const orderId = await placeOrder(customer, { "MUG-QUAY": "1" }, "cancel-web@example.com");
    const page = await waitUntil("the cancel button", async () => {
      const p = await customer.get(`/orders/${orderId}`);
      return /action="\/orders\/[^"]+\/cancel"/.test(p.html) && /data-step="confirmed"/.test(p.html) ? p : null;
    });
    const stranger = new BrowserClient(web.url);
    const strangerForm = await stranger.get("/orders/new");
    const strangerCancel = await stranger.postForm(`/orders/${orderId}/cancel`, { _csrf: extract(strangerForm.html, "_csrf") });
    assert.equal(strangerCancel.status, 404, "another session cannot even see the order");
    assert.equal((await customer.postForm(`/orders/${orderId}/cancel`, {})).status, 403, "no CSRF token");
    const cancel = await customer.postForm(`/orders/${orderId}/cancel`, { _csrf: extract(page.html, "_csrf") });
    assert.equal(cancel.status, 303);
    assert.equal(cancel.res.headers.get("location"), `/orders/${orderId}?cancel=requested`);
    await waitUntil("cancellation", async () => (await orderStatus(orderId)) === "cancelled");
    const done = await customer.get(`/orders/${orderId}?cancel=requested`);
    assert.match(done.html, /Cancellation requested/);
    assert.match(done.html, /data-status="cancelled"/);
    assert.doesNotMatch(done.html, /Cancel order/);
    const late = await customer.postForm(`/orders/${orderId}/cancel`, { _csrf: extract(page.html, "_csrf") });
    assert.equal(late.res.headers.get("location"), `/orders/${orderId}?cancel=refused`);
    const timeline = await customer.get(`/orders/${orderId}`);
    const steps = [...timeline.html.matchAll(/<li class="event[^"]*" data-seq="\d+" data-step="([a-z_]+)"/g)].map((m) => m[1]);
    assert.deepEqual(steps.slice(0, 2), ["received", "persisted"]);
    assert.equal(steps.at(-1), "cancelled");
  });

  it("shows 'My orders' for this session only", async () => {
    const alice = new BrowserClient(web.url);
    const mine = await placeOrder(alice, { "KNOT-BOOK": "1" }, "alice@example.com");
    const bob = new BrowserClient(web.url);
    await bob.get("/");
    const bobs = await bob.get("/orders");
    assert.doesNotMatch(bobs.html, new RegExp(mine));
    assert.match(bobs.html, /not placed an order from this browser/);
    const alices = await alice.get("/orders");
    assert.match(alices.html, new RegExp(`href="/orders/${mine}"`));
  });

  it("limits how fast one session can place orders (429 with Retry-After)", async () => {
    const strict = await startInProcessWeb({ ...stack.env, ORDER_RATE_LIMIT_PER_MINUTE: "2" });
    try {
      const third = await inOneRateWindow(async () => {
        const client = new BrowserClient(strict.url);
        await placeOrder(client, { "KNOT-BOOK": "1" }, "fast@example.com");
        await placeOrder(client, { "KNOT-BOOK": "1" }, "fast@example.com");
        const form = await client.get("/orders/new");
        return client.postForm("/orders", {
          _csrf: extract(form.html, "_csrf"),
          orderId: extract(form.html, "orderId"),
          email: "fast@example.com",
          paymentMethod: "pm_card_visa",
          "qty[KNOT-BOOK]": "1",
        });
      });
      assert.equal(third.status, 429);
      assert.match(third.html, /placing orders too quickly/);
      assert.ok(Number(third.res.headers.get("retry-after")) >= 1);
    } finally {
      await strict.close();
    }
  });
});
