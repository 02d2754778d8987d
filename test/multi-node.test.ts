/**
 * The system on a multi-node Restate cluster: three restate-server nodes on loopback (replicated
 * metadata server and logs, replication 2, provisioned with restatectl), two worker processes
 * behind one registered URL (a TCP balancer in front of them), and two web processes. The webs
 * reach the ingress, and the registration and the Restate UI links reach the admin API, through
 * balancers in front of every node. Shoppers place orders through both webs and follow their
 * SSE streams while one Restate node and one worker are SIGKILLed and not brought back. Every
 * order must complete exactly once: one order row in a final state, one charge, one confirmation
 * and one shipped email, stock conserved, and every stream on either web reaches its end.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type pg from "pg";
import { runMigrations } from "../migrations/runner.ts";
import { shop, type ShopperOutcome } from "../scripts/chaos/shopper.ts";
import { startMailCatcher, type CaughtMessage, type MailCatcher } from "../scripts/stack/mail-catcher.ts";
import { startPostgres, type PostgresHandle } from "../scripts/stack/postgres.ts";
import { freePort, waitFor, type Managed } from "../scripts/stack/processes.ts";
import { startRestateCluster, type ClusterNode, type RestateCluster } from "../scripts/stack/restate-cluster.ts";
import { keepServiceLogs, observerPool, ROOT, startWeb, startWorker, workerServicesKnown } from "../scripts/stack/stack.ts";
import { startTcpBalancer, type TcpBalancer } from "../scripts/stack/tcp-balancer.ts";
import { startValkey } from "../scripts/stack/valkey.ts";
import { createLogger } from "../shared/logger.ts";
import { registerDeployment } from "../worker/deployment-registration.ts";

const NAME = "multi-node";
const FINAL = new Set(["fulfilled", "rejected", "cancelled", "failed"]);
/** Orders per wave (half on each web), and waves: spread over a few seconds, so kills land mid-stream. */
const PER_WAVE = 4;
const WAVES = 9;
const WAVE_GAP_MS = 350;
const KILL_NODE_AFTER_WAVE = 1;
const KILL_WORKER_AFTER_WAVE = 4;
/** Cheap items (no approval), one unit each, rotated so no SKU runs short of stock. */
const SKUS = ["MUG-QUAY", "TEE-ANCHOR", "ROPE-COASTER", "MAP-PRINT", "KNOT-BOOK"];

interface Proc {
  handle: Managed;
  port: number;
  metricsPort: number;
  log: string;
}

describe("multi-node Restate cluster", () => {
  const logDir = path.join(ROOT, "test-results", NAME);
  const logger = createLogger({ name: NAME, level: "warn", format: "json" });
  let dataDir = "";
  let cluster: RestateCluster | null = null;
  let postgres: PostgresHandle | null = null;
  let valkey: Managed | null = null;
  let mail: MailCatcher | null = null;
  let db: pg.Pool | null = null;
  let workerLb: TcpBalancer | null = null;
  const workers: Proc[] = [];
  const webs: Proc[] = [];
  let stopped = false;

  async function teardown(): Promise<void> {
    if (stopped) return;
    stopped = true;
    await Promise.allSettled([...webs, ...workers].map((p) => p.handle.stop(5_000)));
    await Promise.allSettled([workerLb?.close(), db?.end()]);
    await Promise.allSettled([cluster?.stop(), postgres?.stop(), valkey?.stop(), mail?.close()]);
    if (dataDir) keepServiceLogs(dataDir, logDir, ["postgres", "valkey"]);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
  const onSignal = () => void teardown().then(() => process.exit(130));

  before(async () => {
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    dataDir = mkdtempSync(path.join(os.tmpdir(), `quayside-${NAME}-`));
    chmodSync(dataDir, 0o755); // PostgreSQL runs as the postgres user when the tests run as root
    rmSync(logDir, { recursive: true, force: true });
    mkdirSync(logDir, { recursive: true });
    try {
      await startEverything();
    } catch (err) {
      await teardown();
      throw err;
    }
  });

  after(async () => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await teardown();
  });

  async function startEverything(): Promise<void> {
    const [pgPort, valkeyPort, smtpPort, mailUiPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const started = await Promise.allSettled([
      startRestateCluster({ nodes: 3, replication: 2, partitions: 4, baseDir: path.join(dataDir, "restate"), logDir }),
      startPostgres({
        port: pgPort,
        dataDir: path.join(dataDir, "postgres"),
        logFile: path.join(dataDir, "postgres.log"),
        database: "quayside",
        user: "quayside",
        fast: true,
      }),
      startValkey({ port: valkeyPort, dataDir: path.join(dataDir, "valkey"), logFile: path.join(dataDir, "valkey.log") }),
      startMailCatcher({ smtpPort, uiPort: mailUiPort }),
    ]);
    const [c, p, v, m] = started;
    if (c.status === "fulfilled") cluster = c.value;
    if (p.status === "fulfilled") postgres = p.value;
    if (v.status === "fulfilled") valkey = v.value;
    if (m.status === "fulfilled") mail = m.value;
    const failed = started.flatMap((r) => (r.status === "rejected" ? [String(r.reason)] : []));
    if (failed.length > 0) throw new Error(`could not start the backing services:\n  ${failed.join("\n  ")}`);
    const restate = cluster as RestateCluster;
    const pgHandle = postgres as unknown as PostgresHandle;
    const catcher = mail as unknown as MailCatcher;
    await runMigrations(pgHandle.url, logger);
    db = observerPool(pgHandle.url);

    // Webs, the registration and the UI links reach whichever Restate node answers (the cluster's
    // balanced addresses); the deployment URL reaches whichever worker answers.
    const workerPorts = [await freePort(), await freePort()];
    workerLb = await startTcpBalancer({ port: await freePort(), backends: workerPorts.map((port) => ({ port })) });

    const common: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      APP_PROFILE: "dev",
      LOG_LEVEL: "debug",
      DATABASE_URL: pgHandle.url,
      VALKEY_URL: `redis://127.0.0.1:${valkeyPort}`,
      RESTATE_INGRESS_URL: restate.ingressUrl,
      RESTATE_ADMIN_URL: restate.adminUrl,
      RESTATE_UI_URL: restate.adminUrl,
      SMTP_HOST: "127.0.0.1",
      SMTP_PORT: String(smtpPort),
      SMTP_TLS: "none",
      MAIL_UI_URL: catcher.uiUrl,
      OPS_HOST: "127.0.0.1",
      SHUTDOWN_DRAIN_MS: "2000",
    };
    const webPorts = [await freePort(), await freePort()];
    for (const [i, port] of workerPorts.entries()) {
      const metricsPort = await freePort();
      const log = path.join(logDir, `worker-${i + 1}.log`);
      const env: NodeJS.ProcessEnv = {
        ...common,
        WORKER_HOST: "127.0.0.1",
        WORKER_PORT: String(port),
        WORKER_METRICS_PORT: String(metricsPort),
        WORKER_PUBLIC_URL: workerLb.url,
        WORKER_SELF_REGISTER: "false",
        PUBLIC_WEB_URL: `http://127.0.0.1:${webPorts[0]}`,
        // Long enough that orders sit in durable timers while things are being killed.
        SHIPPING_DELAY_MS: "600",
      };
      const handle = await startWorker({ env, adminUrl: restate.adminUrl, output: log, ready: "listening" });
      workers.push({ handle, port, metricsPort, log });
    }
    await registerDeployment({ adminUrl: restate.adminUrl, endpointUrl: workerLb.url, force: false }, logger);
    // The registration is cluster metadata: every node (asked directly, not through the balancer)
    // must know the services before traffic starts.
    for (const n of restate.nodes) {
      await waitFor(`${n.nodeName} knows OrderFulfilment`, () => workerServicesKnown(n.adminUrl), { timeoutMs: 30_000 });
    }
    for (const [i, port] of webPorts.entries()) {
      const metricsPort = await freePort();
      const log = path.join(logDir, `web-${i + 1}.log`);
      const env: NodeJS.ProcessEnv = {
        ...common,
        WEB_HOST: "127.0.0.1",
        WEB_PORT: String(port),
        WEB_METRICS_PORT: String(metricsPort),
        PUBLIC_WEB_URL: `http://127.0.0.1:${port}`,
        ORDER_RATE_LIMIT_PER_MINUTE: "1000",
        // Both webs must accept each other's cookies and CSRF tokens.
        SESSION_SECRET: "multi-node-test-session-secret-0123456789abcdef",
        READY_CACHE_MS: "200",
      };
      const handle = await startWeb({ env, port, output: log });
      webs.push({ handle, port, metricsPort, log });
    }
  }

  it("completes every order exactly once while a Restate node and a worker are SIGKILLed mid-stream", async () => {
    const restate = cluster as RestateCluster;
    const pool = db as pg.Pool;
    const catcher = mail as MailCatcher;
    const stockBefore = new Map<string, number>(
      (await pool.query<{ sku: string; stock: number }>("SELECT sku, stock FROM products")).rows.map((r) => [r.sku, r.stock]),
    );
    const totalOrders = PER_WAVE * WAVES;
    for (const sku of SKUS) {
      assert.ok((stockBefore.get(sku) ?? 0) >= Math.ceil(totalOrders / SKUS.length), `enough ${sku} for every order`);
    }

    const t0 = Date.now();
    const timeline: Array<{ atMs: number; what: string }> = [];
    const mark = (what: string) => timeline.push({ atMs: Date.now() - t0, what });
    const inFlight = async () =>
      Number(
        (await pool.query<{ n: string }>("SELECT count(*) AS n FROM orders WHERE status <> ALL($1::text[])", [[...FINAL]]))
          .rows[0]?.n ?? 0,
      );

    // 1. A Restate node that leads partitions dies while orders are running.
    const kills = {
      node: null as ClusterNode | null,
      nodeLed: 0,
      inFlightAtNodeKill: 0,
      worker: null as Proc | null,
      workerConnections: 0,
      inFlightAtWorkerKill: 0,
      workerKilledAt: 0,
    };
    const killRestateNode = async () => {
      await waitFor("orders in flight", async () => (await inFlight()) >= 4, { timeoutMs: 30_000, intervalMs: 50 });
      const leaders = await restate.partitionLeaders();
      const led = (n: ClusterNode) => [...leaders.values()].filter((l) => l.node === n).length;
      const node = restate.nodes.reduce((a, b) => (led(b) > led(a) ? b : a));
      kills.node = node;
      kills.nodeLed = led(node);
      kills.inFlightAtNodeKill = await inFlight();
      await restate.killNode(node);
      mark(
        `SIGKILL restate ${node.nodeName} (leading ${kills.nodeLed} of ${restate.partitions} partitions, ${kills.inFlightAtNodeKill} in flight)`,
      );
    };

    // 2. A worker that is serving invocations dies a moment later, while the cluster is failing over.
    const killWorker = async () => {
      await waitFor("orders in flight", async () => (await inFlight()) >= 2, { timeoutMs: 30_000, intervalMs: 50 });
      const active = (workerLb as TcpBalancer).activeConnections();
      const busiest = workers.reduce((a, b) => ((active.get(b.port) ?? 0) > (active.get(a.port) ?? 0) ? b : a));
      kills.worker = busiest;
      kills.workerConnections = active.get(busiest.port) ?? 0;
      kills.inFlightAtWorkerKill = await inFlight();
      kills.workerKilledAt = Date.now();
      await busiest.handle.kill();
      mark(
        `SIGKILL worker on ${busiest.port} (${kills.workerConnections} Restate connections, ${kills.inFlightAtWorkerKill} in flight)`,
      );
    };

    // Shoppers in waves, alternating between the two webs; the kills go off between waves, so
    // orders are placed before, between and after them.
    const shoppers: Array<Promise<ShopperOutcome & { web: number; sku: string }>> = [];
    for (let w = 0; w < WAVES; w++) {
      for (let j = 0; j < PER_WAVE; j++) {
        const n = w * PER_WAVE + j;
        const web = n % 2;
        const sku = SKUS[n % SKUS.length] as string;
        const webUrl = `http://127.0.0.1:${(webs[web] as Proc).port}`;
        const email = `shopper-${n}@example.com`;
        shoppers.push(
          shop({ webUrl, sku, quantity: 1, paymentMethod: "pm_card_visa", email, deadlineMs: 90_000 }).then((o) => ({
            ...o,
            web,
            sku,
          })),
        );
      }
      if (w === KILL_NODE_AFTER_WAVE) await killRestateNode();
      if (w === KILL_WORKER_AFTER_WAVE) await killWorker();
      await sleep(WAVE_GAP_MS);
    }
    mark("all shoppers started");
    const outcomes = await Promise.all(shoppers);
    mark("all shoppers finished");
    await restate.waitHealthy({ timeoutMs: 30_000 });
    mark("cluster healthy on the surviving nodes");

    const ids = outcomes.map((o) => o.orderId).filter((id): id is string => id !== null);
    const summary = {
      orders: totalOrders,
      killedNode: kills.node?.nodeName,
      killedWorkerPort: kills.worker?.port,
      timeline,
      balancerConnections: {
        workers: Object.fromEntries((workerLb as TcpBalancer).totalConnections()),
        ingress: Object.fromEntries(restate.ingressBalancer.totalConnections()),
        admin: Object.fromEntries(restate.adminBalancer.totalConnections()),
      },
      submitAttempts: outcomes.reduce((s, o) => s + o.submitAttempts, 0),
      sseReconnects: outcomes.reduce((s, o) => s + Math.max(0, o.reconnects), 0),
      slowestOrderMs: Math.max(...outcomes.map((o) => (o.finishedAt ?? Date.now()) - o.placedAt)),
      failedShoppers: outcomes.filter((o) => !o.placed || !o.sawTerminal),
    };
    writeFileSync(path.join(logDir, "summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
    const caught = catcher.messages.map(({ messageId, subject, receivedAt, envelopeTo }) => ({
      messageId,
      subject,
      receivedAt,
      envelopeTo,
    }));
    writeFileSync(path.join(logDir, "mail.json"), `${JSON.stringify({ t0: new Date(t0).toISOString(), caught }, null, 2)}\n`);

    // The kills happened while orders were in flight, and both webs took orders.
    const { node: victim, worker: killedWorker, workerKilledAt } = kills;
    assert.ok(victim && killedWorker, "both kills happened");
    assert.ok(kills.nodeLed >= 1, "the killed Restate node was leading partitions");
    assert.ok(kills.inFlightAtNodeKill >= 1 && kills.inFlightAtWorkerKill >= 1, "orders were in flight at both kills");
    assert.ok(kills.workerConnections >= 1, "the killed worker was serving Restate");
    assert.notEqual(victim.child.exitCode ?? victim.child.signalCode, null, "the Restate node stays dead");
    assert.notEqual(killedWorker.handle.child.exitCode ?? killedWorker.handle.child.signalCode, null, "the worker stays dead");

    // Every shopper placed its order and saw its stream end, on either web.
    for (const o of outcomes) {
      assert.ok(o.placed, `order ${o.orderId} placed through web ${o.web + 1}: ${o.error}`);
      assert.ok(o.sawTerminal, `order ${o.orderId} reached the terminal event on web ${o.web + 1}: ${o.error}`);
    }
    assert.equal(new Set(ids).size, totalOrders, "one distinct order id per shopper");
    assert.equal(outcomes.filter((o) => o.web === 0).length, totalOrders / 2);

    // One order row each, in a final state: all fulfilled (a valid card, stock for everyone).
    const rows = (
      await pool.query<{ id: string; status: string; total_cents: number; email: string }>(
        "SELECT id, status, total_cents, email FROM orders WHERE id = ANY($1::uuid[])",
        [ids],
      )
    ).rows;
    assert.equal(rows.length, totalOrders, "one order row per order");
    for (const r of rows) assert.ok(FINAL.has(r.status), `order ${r.id} is final (${r.status})`);
    assert.deepEqual(
      rows.filter((r) => r.status !== "fulfilled").map((r) => `${r.id}: ${r.status}`),
      [],
      "every order fulfilled",
    );
    assert.equal(
      Number((await pool.query<{ n: string }>("SELECT count(*) AS n FROM orders")).rows[0]?.n),
      totalOrders,
      "no order rows besides the shoppers' own",
    );

    // Exactly one successful charge per order, for its total, and nothing refunded.
    const payments = (
      await pool.query<{ order_id: string; kind: string; status: string; amount_cents: number; idempotency_key: string }>(
        "SELECT order_id, kind, status, amount_cents, idempotency_key FROM payments WHERE order_id = ANY($1::uuid[])",
        [ids],
      )
    ).rows;
    for (const r of rows) {
      const mine = payments.filter((p) => p.order_id === r.id);
      assert.equal(mine.length, 1, `order ${r.id}: one ledger entry (${JSON.stringify(mine)})`);
      assert.equal(mine[0]?.kind, "charge");
      assert.equal(mine[0]?.status, "succeeded");
      assert.equal(mine[0]?.amount_cents, r.total_cents);
      assert.equal(mine[0]?.idempotency_key, `order:${r.id}:charge`);
    }

    // Stock: never negative, and taken exactly once per order (one reservation each, none released).
    const stockAfter = new Map<string, number>(
      (await pool.query<{ sku: string; stock: number }>("SELECT sku, stock FROM products")).rows.map((r) => [r.sku, r.stock]),
    );
    for (const [sku, stock] of stockAfter) {
      assert.ok(stock >= 0, `${sku} stock is not negative`);
      const sold = outcomes.filter((o) => o.sku === sku).length;
      assert.equal(stock, (stockBefore.get(sku) ?? 0) - sold, `${sku}: ${sold} units taken, once each`);
    }
    const reservations = (
      await pool.query<{ order_id: string; n: string }>(
        "SELECT order_id, count(*) AS n FROM stock_reservations WHERE status = 'reserved' AND order_id = ANY($1::uuid[]) GROUP BY order_id",
        [ids],
      )
    ).rows;
    assert.equal(reservations.length, totalOrders, "one live reservation per order");
    assert.ok(reservations.every((r) => Number(r.n) === 1));

    // Exactly one confirmation and one shipped email per order, each the message the emails row recorded.
    // Order emails are one-way sends: the last shipped email may still be on its way when the order is
    // fulfilled, so wait (bounded) until every order's two rows say sent before reading them.
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(200)) {
      const sent = await pool.query<{ n: string }>(
        "SELECT count(*) AS n FROM emails WHERE status = 'sent' AND idempotency_key = ANY($1::text[])",
        [ids.flatMap((id) => [`order:${id}:confirmation`, `order:${id}:shipped`])],
      );
      if (Number(sent.rows[0]?.n) >= ids.length * 2) break;
    }
    const emailRows = new Map(
      (
        await pool.query<{ idempotency_key: string; message_id: string; status: string }>(
          "SELECT idempotency_key, message_id, status FROM emails",
        )
      ).rows.map((r) => [r.idempotency_key, r]),
    );
    await sleep(300); // a duplicate would arrive right behind the first
    // The one duplicate the design allows (docs/design.md, "Email"): the worker killed between the SMTP
    // server's 250 and recording it, so the retry on the other worker sends the identical message
    // (same Message-ID) again. Only a pair that straddles the worker kill can be that.
    const copies = new Map<string, CaughtMessage[]>();
    for (const m of catcher.messages) copies.set(m.messageId ?? "", [...(copies.get(m.messageId ?? "") ?? []), m]);
    const at = (m: CaughtMessage | undefined) => Date.parse(m?.receivedAt ?? "") - workerKilledAt;
    const resent = [...copies.values()]
      .filter((c) => c.length > 1)
      .map((c) => ({
        messageId: c[0]?.messageId,
        subject: c[0]?.subject,
        copies: c.length,
        msAfterWorkerKill: c.map((m) => at(m)),
        acrossWorkerKill: c.length === 2 && at(c[0]) <= 250 && at(c[1]) >= 0,
      }));
    if (resent.length > 0) writeFileSync(path.join(logDir, "resent-emails.json"), `${JSON.stringify(resent, null, 2)}\n`);
    assert.deepEqual(
      resent.filter((r) => !r.acrossWorkerKill),
      [],
      "no message was delivered twice (an identical resend across the worker kill aside); " +
        "a pair far from the kill is two overlapping attempts of one EmailSender.send, see resent-emails.json",
    );
    // One message per Message-ID from here on.
    const messages = [...copies.values()].map((c) => c[0] as CaughtMessage);
    for (const r of rows) {
      const short = r.id.slice(-12);
      for (const [kind, subject] of [
        ["confirmation", `Order confirmed: ${short}`],
        ["shipped", `Order shipped: ${short}`],
      ] as const) {
        const got = messages.filter((m) => m.subject === subject);
        assert.equal(got.length, 1, `order ${r.id}: exactly one ${kind} email (got ${got.length})`);
        const row = emailRows.get(`order:${r.id}:${kind}`);
        assert.equal(row?.status, "sent", `order ${r.id}: ${kind} email recorded as sent`);
        assert.equal(got[0]?.messageId, row?.message_id, `order ${r.id}: the ${kind} email is the recorded message`);
        assert.deepEqual(got[0]?.envelopeTo, [r.email]);
        assert.match(got[0]?.text ?? "", new RegExp(r.id), `order ${r.id}: the ${kind} email names the order`);
      }
    }
    assert.equal(messages.length, 2 * totalOrders, "no other emails (no cancellations)");
    assert.equal(
      [...emailRows.keys()].filter((k) => k.startsWith("order:")).length,
      2 * totalOrders,
      "two email rows per order, one per idempotency key",
    );
  });
});
