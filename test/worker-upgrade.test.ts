/**
 * deploy/README.md's worker rollout, step by step, with real processes: orders wait to ship on
 * worker v1; v2 (a real code change: a "label parcel" step before shipping) starts at its own URL
 * and is registered by the registration step, not by itself; the waiting orders finish on v1 and
 * new ones run v2's code; v1 is removed once Restate counts nothing pinned to it. Then the
 * mistake the runbook warns about: the next release removes its predecessor (with force, the only
 * removal Restate 1.7 offers) while orders are still pinned to it, and those orders stop where
 * they are, retried by Restate with RT0011; registering the old code again is not enough, each
 * stuck invocation has to be resumed on that new deployment. Orders wait a day to ship, so they
 * wait exactly as long as a test needs: it ends the wait with an operator's "ship now".
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { v7 as uuidv7 } from "uuid";
import { freePort, startProcess, type Managed } from "../scripts/stack/processes.ts";
import { ROOT, startWorker } from "../scripts/stack/stack.ts";
import { createOrdersClient } from "../web/adapters/orders-client.ts";
import { waitUntil } from "./helpers/browser-client.ts";
import { invocationsPinnedTo, listDeployments, moveTo, pinnedTo, removeDeployment, restateSql } from "./helpers/restate-admin.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";
import { buildWorkerRelease } from "./helpers/worker-release.ts";

/** Orders wait a day to ship: each test ends the wait itself (an operator's "ship now"). */
const SHIPPING_DELAY_MS = 86_400_000;
const WORKFLOW = "OrderFulfilment";

interface Release {
  name: string;
  root: string;
  url: string;
  id: string;
  proc: Managed;
  env: NodeJS.ProcessEnv;
}

describe("worker upgrade with orders in flight", () => {
  let stack: TestStack;
  let admin = "";
  const releases: Release[] = [];
  const buildDir = mkdtempSync(path.join(os.tmpdir(), "quayside-release-"));

  before(async () => {
    stack = await startTestStack("worker-upgrade", {
      worker: false,
      // As in production: workers do not register themselves, and nothing is forced.
      env: { SHIPPING_DELAY_MS: String(SHIPPING_DELAY_MS), WORKER_SELF_REGISTER: "false", WORKER_REGISTER_FORCE: "false" },
    });
    admin = stack.services.restate.adminUrl;
  });
  after(async () => {
    await Promise.allSettled(releases.map((r) => r.proc.stop(5_000)));
    await stack?.stop();
    rmSync(buildDir, { recursive: true, force: true });
  });

  /** Starts a release's worker at a URL of its own, then runs the registration step (`npm run register`) for it. */
  async function deploy(name: string, root: string, url?: string): Promise<Release> {
    const port = url ? Number(new URL(url).port) : await freePort();
    const publicUrl = url ?? `http://127.0.0.1:${port}`;
    // A short drain, so a stopped release lets go of its waiting orders at once (in a cluster it is 25 s).
    const env = {
      ...stack.env,
      WORKER_PORT: String(port),
      WORKER_PUBLIC_URL: publicUrl,
      WORKER_METRICS_PORT: "0",
      SHUTDOWN_DRAIN_MS: "300",
    };
    const log = (what: string) => path.join(stack.logDir, `${what}-${name}.log`);
    const proc = await startWorker({ env, adminUrl: admin, output: log("worker"), ready: "listening", root });
    const register = startProcess({
      name: `register-${name}`,
      command: process.execPath,
      args: [path.join(root, "worker/register.command.ts")],
      cwd: root,
      env,
      output: log("register"),
    });
    assert.equal(await register.exited, 0, `register ${name} (see ${log("register")})`);
    const deployment = (await listDeployments(admin)).find((d) => new URL(d.uri).port === String(port));
    assert.ok(deployment, `${name} is listed as a deployment`);
    const release = { name, root, url: publicUrl, id: deployment.id, proc, env };
    releases.push(release);
    return release;
  }

  const orders = () => createOrdersClient({ ingressUrl: stack.services.restate.ingressUrl });
  async function placeOrders(n: number, label: string): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const orderId = uuidv7();
      await orders().submit({
        orderId,
        email: `${label}-${i}@upgrade.example`,
        paymentMethod: "pm_card_visa",
        lines: [{ sku: "MUG-QUAY", quantity: 1 }],
      });
      ids.push(orderId);
    }
    return ids;
  }
  async function statuses(ids: string[]): Promise<string[]> {
    const rows = await stack.db.query<{ status: string }>("SELECT status FROM orders WHERE id = ANY($1::uuid[]) ORDER BY id", [
      ids,
    ]);
    return rows.rows.map((r) => r.status);
  }
  const allAre = async (ids: string[], status: string) => {
    const s = await statuses(ids);
    return s.length === ids.length && s.every((x) => x === status);
  };
  /** The order workflow's invocation: which deployment it is pinned to, its state, its journal's step names. */
  async function invocation(orderId: string) {
    const [row] = await restateSql(
      admin,
      `SELECT id, status, pinned_deployment_id, last_failure, last_failure_error_code, retry_count FROM sys_invocation
       WHERE target_service_name = '${WORKFLOW}' AND target_handler_name = 'run' AND target_service_key = '${orderId}'`,
    );
    assert.ok(row, `the invocation of ${orderId}`);
    const journal = await restateSql(admin, `SELECT name FROM sys_journal WHERE id = '${String(row.id)}' ORDER BY index`);
    const text = (v: unknown) => (typeof v === "string" ? v : "");
    return {
      id: text(row.id),
      status: text(row.status),
      pinned_deployment_id: text(row.pinned_deployment_id),
      last_failure: text(row.last_failure),
      last_failure_error_code: text(row.last_failure_error_code),
      retry_count: Number(row.retry_count ?? 0),
      steps: journal.map((j) => text(j.name)),
    };
  }
  const shippedEmails = (orderId: string) =>
    stack.services.mail.messages.filter((m) => m.subject === `Order shipped: ${orderId.slice(-12)}`).length;
  /** An operator's "ship now" for each order, once all of them wait in shipping. */
  async function shipNow(ids: string[]) {
    await waitUntil("the orders to wait in shipping", () => allAre(ids, "confirmed"), 30_000);
    for (const id of ids) assert.equal((await orders().control(id, "dispatch", "", "otto")).accepted, true, `ship ${id} now`);
  }
  /** The next release: this code plus a "label parcel" step before shipping, built in a directory of its own. */
  const buildV2 = (name: string) =>
    buildWorkerRelease(path.join(buildDir, name), [
      {
        file: "worker/order-run.ts",
        before: `const shipped = await progress.step("ship order", {`,
        insert: '            await ctx.run("label parcel", () => `QS-${orderId.slice(-12).toUpperCase()}`);\n',
      },
    ]);
  /** Waits until Restate has tried the order's invocation and failed with RT0011 (more often than `after` times). */
  const failedWithRT0011 = (orderId: string, after = -1) =>
    waitUntil(
      `Restate to retry ${orderId} and fail`,
      async () => {
        const i = await invocation(orderId);
        return i.status === "backing-off" && i.last_failure_error_code === "RT0011" && i.retry_count > after ? i : null;
      },
      120_000,
    );

  it("v2 starts at its own URL and is registered while v1's orders wait to ship; they finish on v1, new ones run v2's code; v1 is removed once nothing is pinned to it", async () => {
    const v1 = await deploy("v1", ROOT);
    const onV1 = await placeOrders(3, "v1");
    await waitUntil("v1's orders to wait in shipping", () => allAre(onV1, "confirmed"), 30_000);

    const v2 = await deploy("v2", buildV2("v2"));
    assert.notEqual(v2.id, v1.id);
    const listed = (await listDeployments(admin)).map((d) => d.id);
    assert.ok(listed.includes(v1.id) && listed.includes(v2.id), listed.join(", "));
    assert.deepEqual(await statuses(onV1), ["confirmed", "confirmed", "confirmed"], "still waiting to ship");
    for (const id of onV1) assert.equal((await invocation(id)).pinned_deployment_id, v1.id, "pinned to v1");
    assert.ok((await pinnedTo(admin, v1.id)) >= 3, "Restate counts v1's waiting orders as pinned to it");
    const onV2 = await placeOrders(3, "v2");

    // The waiting orders finish on v1 (without the new step), the new ones run v2's code.
    const all = [...onV1, ...onV2];
    await shipNow(all);
    await waitUntil("every order to be fulfilled", () => allAre(all, "fulfilled"), 60_000);
    for (const id of onV1) {
      const inv = await invocation(id);
      assert.equal(inv.pinned_deployment_id, v1.id, `${id} stayed on v1`);
      assert.ok(inv.steps.includes("ship order"), `${id} shipped`);
      assert.ok(!inv.steps.includes("label parcel"), `${id} ran v1's code to the end: ${inv.steps.join(", ")}`);
    }
    for (const id of onV2) {
      const inv = await invocation(id);
      assert.equal(inv.pinned_deployment_id, v2.id, `${id} started on v2`);
      const steps = inv.steps;
      assert.ok(
        steps.indexOf("label parcel") >= 0 && steps.indexOf("label parcel") < steps.indexOf("ship order"),
        steps.join(", "),
      );
    }
    const charges = await stack.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM payments WHERE order_id = ANY($1::uuid[]) AND kind = 'charge' AND status = 'succeeded'",
      [all],
    );
    assert.equal(charges.rows[0]?.n, all.length, "one charge per order");
    await waitUntil("one shipped email per order", () => all.every((id) => shippedEmails(id) === 1));

    // v1 is removed only once Restate counts nothing pinned to it (removal is always forced, so the count is the guard).
    await waitUntil("nothing pinned to v1", async () => (await pinnedTo(admin, v1.id)) === 0, 30_000);
    // Restate 1.7 has no "remove unless in use": without force it refuses every removal.
    const unforced = await removeDeployment(admin, v1.id);
    assert.equal(unforced.status, 501, `removal without force: ${unforced.status} ${unforced.text}`);
    const forced = await removeDeployment(admin, v1.id, { force: true });
    assert.ok(forced.status === 200 || forced.status === 202, `removal: ${forced.status} ${forced.text}`);
    const left = (await listDeployments(admin)).map((d) => d.id);
    assert.ok(!left.includes(v1.id) && left.includes(v2.id), left.join(", "));
    await v1.proc.stop();

    const next = await placeOrders(1, "after-v1");
    await shipNow(next);
    await waitUntil("an order after v1 is gone", () => allAre(next, "fulfilled"), 30_000);
    assert.ok((await invocation(next[0]!)).steps.includes("label parcel"));
  });

  it("removed too early: orders pinned to a removed deployment stop (RT0011) until resumed on the old code registered again", async () => {
    const v2 = await deploy("v2-early", buildV2("v2-early"));
    const early = await placeOrders(2, "early");
    await waitUntil("the orders to wait in shipping on v2", () => allAre(early, "confirmed"), 30_000);
    const v3 = await deploy("v3", ROOT);
    const pinned = await pinnedTo(admin, v2.id);
    assert.ok(pinned >= 2, `orders still pinned to v2: ${pinned}`);
    // The mistake: v2 is removed (and its workers stopped) while its orders still wait to ship.
    const forced = await removeDeployment(admin, v2.id, { force: true });
    assert.ok(forced.status === 200 || forced.status === 202, `removal: ${forced.status} ${forced.text}`);
    await v2.proc.stop();

    // Their shipping wait ends (ship now, answered by v3): Restate wakes them on v2, which is gone.
    await shipNow(early);
    for (const id of early) {
      const inv = await failedWithRT0011(id);
      assert.equal(inv.pinned_deployment_id, v2.id, "still pinned to the removed deployment");
      assert.match(inv.last_failure, /deployment id associated, but it was not found/);
    }
    assert.deepEqual(await statuses(early), ["confirmed", "confirmed"], "stuck before shipping");
    assert.ok(early.every((id) => shippedEmails(id) === 0));
    const fresh = await placeOrders(1, "v3");
    await shipNow(fresh);
    await waitUntil("v3 to serve new orders meanwhile", () => allAre(fresh, "fulfilled"), 30_000);

    // Registering the same URL again is a new deployment: the stuck orders stay pinned to the old id.
    const tries = new Map<string, number>();
    for (const id of early) tries.set(id, (await invocation(id)).retry_count);
    const back = await deploy("v2-again", v2.root, v2.url);
    assert.notEqual(back.id, v2.id);
    // Retried once more after the registration, and failing as before: re-registering alone moves nothing.
    for (const id of early) await failedWithRT0011(id, tries.get(id));
    assert.deepEqual(await statuses(early), ["confirmed", "confirmed"], "re-registering alone moves nothing");
    // The way back: resume each one on the re-registered v2 code (the code its journal was written by).
    const stuck = await invocationsPinnedTo(admin, v2.id);
    for (const id of early) assert.ok(stuck.includes((await invocation(id)).id), "listed as stuck");
    for (const id of stuck) await moveTo(admin, id, back.id);
    await waitUntil("the stuck orders to ship", () => allAre(early, "fulfilled"), 30_000);
    for (const id of early) {
      const inv = await invocation(id);
      assert.equal(inv.pinned_deployment_id, back.id);
      assert.ok(inv.steps.includes("label parcel"), "finished by v2's code");
    }
    await waitUntil("one shipped email each", () => early.every((id) => shippedEmails(id) === 1));
    assert.equal(await pinnedTo(admin, v2.id), 0);
    process.stdout.write(`# stuck orders resumed on ${back.id}; current deployment ${v3.id}\n`);
  });
});
