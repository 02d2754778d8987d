/**
 * OrderFulfilment through real restate-server, PostgreSQL, Valkey and the SMTP catcher, with the
 * worker as its own process. Asserts what a shop owner would check: rows, stock, charges, emails.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { v7 as uuidv7 } from "uuid";
import { createLogger } from "../shared/logger.ts";
import { streamKey } from "../shared/progress-event.ts";
import { createOrdersClient } from "../web/adapters/orders-client.ts";
import { createProgressPublisher } from "../worker/adapters/progress-publisher.ts";
import { TEST_CALL_TIMEOUT_MS } from "./helpers/call-timeout.ts";
import { waitUntil } from "./helpers/browser-client.ts";
import { orderDriver } from "./helpers/order-driver.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";

describe("order fulfilment workflow", () => {
  let stack: TestStack;
  let orders: ReturnType<typeof createOrdersClient>;
  let redis: Redis;

  before(async () => {
    stack = await startTestStack("order-workflow");
    orders = createOrdersClient({ ingressUrl: stack.services.restate.ingressUrl, timeoutMs: TEST_CALL_TIMEOUT_MS });
    redis = new Redis(stack.services.valkeyUrl, { maxRetriesPerRequest: 1 });
    redis.on("error", () => undefined); // one test stops Valkey on purpose
  });
  after(async () => {
    redis?.disconnect();
    await stack?.stop();
  });

  const { emailsSettled } = orderDriver(
    () => stack,
    () => orders,
  );
  const stockOf = async (sku: string) =>
    Number((await stack.db.query("SELECT stock FROM products WHERE sku = $1", [sku])).rows[0].stock);
  const count = async (sql: string, params: unknown[]) => Number((await stack.db.query(sql, params)).rows[0].n);
  const result = (orderId: string) =>
    fetch(`${stack.services.restate.ingressUrl}/restate/workflow/OrderFulfilment/${orderId}/attach`).then(async (r) => ({
      status: r.status,
      body: await r.text(),
    }));

  it("fulfils an order: stock taken once, one charge, one confirmation and one shipped email", async () => {
    const orderId = uuidv7();
    const email = "ada@example.com";
    const mugBefore = await stockOf("MUG-QUAY");
    const mapBefore = await stockOf("MAP-PRINT");
    const input = {
      orderId,
      email,
      paymentMethod: "pm_card_visa" as const,
      lines: [
        { sku: "MUG-QUAY", quantity: 3 },
        { sku: "MAP-PRINT", quantity: 1 },
      ],
    };
    const first = await orders.submit(input);
    assert.equal(first.alreadySubmitted, false);
    const done = await result(orderId);
    assert.equal(done.status, 200, done.body);
    assert.equal(JSON.parse(done.body).outcome, "fulfilled");

    // Submitting the same order again is the same workflow, not a second order.
    const again = await orders.submit(input);
    assert.equal(again.alreadySubmitted, true);
    assert.equal(again.invocationId, first.invocationId);

    const row = (await stack.db.query("SELECT status, total_cents, invocation_id FROM orders WHERE id = $1", [orderId])).rows[0];
    assert.equal(row.status, "fulfilled");
    assert.equal(row.total_cents, 3 * 1400 + 3200);
    assert.equal(row.invocation_id, first.invocationId);
    assert.equal(await stockOf("MUG-QUAY"), mugBefore - 3);
    assert.equal(await stockOf("MAP-PRINT"), mapBefore - 1);
    assert.equal(
      await count("SELECT count(*) AS n FROM stock_reservations WHERE order_id = $1 AND status = 'reserved'", [orderId]),
      2,
    );
    assert.equal(await count("SELECT count(*) AS n FROM payments WHERE order_id = $1", [orderId]), 1);
    const payment = (await stack.db.query("SELECT amount_cents, idempotency_key FROM payments WHERE order_id = $1", [orderId]))
      .rows[0];
    assert.equal(payment.amount_cents, 3 * 1400 + 3200);
    assert.equal(payment.idempotency_key, `order:${orderId}:charge`);

    await waitUntil("the emails", () => {
      const m = stack.services.mail.messages.filter((x) => x.envelopeTo.includes(email));
      return m.length >= 2 ? m : null;
    });
    await emailsSettled(); // a duplicate would be an email send still to run
    const all = stack.services.mail.messages.filter((x) => x.envelopeTo.includes(email));
    // Both are queued one-way and delivered independently: with no shipping delay either may land first.
    assert.deepEqual(
      all.map((m) => m.subject).sort(),
      [`Order confirmed: ${orderId.slice(-12)}`, `Order shipped: ${orderId.slice(-12)}`],
      "exactly one confirmation and one shipped email",
    );
    const confirmation = all.find((m) => m.subject.startsWith("Order confirmed"));
    assert.match(confirmation?.html ?? "", /Quayside mug/);
    assert.match(confirmation?.text ?? "", /Total/);
    const emailRow = (
      await stack.db.query("SELECT status, message_id FROM emails WHERE idempotency_key = $1", [`order:${orderId}:confirmation`])
    ).rows[0];
    assert.equal(emailRow.status, "sent");
    assert.equal(emailRow.message_id, confirmation?.messageId);

    // The progress stream holds every step, seq 1..n, ending in the terminal event.
    const entries = await redis.xrange(streamKey({ kind: "order", id: orderId }), "-", "+");
    const events = entries.map(([, f]) => JSON.parse(f[1] ?? "{}"));
    assert.deepEqual(
      events.map((e) => e.seq),
      events.map((_, i) => i + 1),
    );
    assert.equal(events.at(-1)?.kind, "terminal");
    assert.equal(events.at(-1)?.percent, 100);
    assert.ok((await redis.ttl(streamKey({ kind: "order", id: orderId }))) > 0, "the stream expires");

    const status = await orders.status(orderId);
    assert.equal(status.status, "succeeded");
    assert.equal(status.seq, events.length);
    assert.equal(status.invocationId, first.invocationId);
  });

  it("rejects an order it cannot fill, releasing what it reserved and charging nothing", async () => {
    const orderId = uuidv7();
    const lampBefore = await stockOf("LAMP-HARBOUR");
    const mugBefore = await stockOf("MUG-QUAY");
    await orders.submit({
      orderId,
      email: "grace@example.com",
      paymentMethod: "pm_card_visa",
      lines: [
        { sku: "MUG-QUAY", quantity: 1 },
        { sku: "LAMP-HARBOUR", quantity: lampBefore + 1 },
      ],
    });
    const done = await result(orderId);
    assert.equal(done.status, 200, done.body);
    assert.deepEqual(JSON.parse(done.body), { orderId, outcome: "rejected", reason: "Out of stock: Harbour lamp" });
    assert.equal(await stockOf("LAMP-HARBOUR"), lampBefore);
    assert.equal(await stockOf("MUG-QUAY"), mugBefore, "the mug reservation was released");
    assert.equal(
      await count("SELECT count(*) AS n FROM stock_reservations WHERE order_id = $1 AND status = 'reserved'", [orderId]),
      0,
    );
    assert.equal(await count("SELECT count(*) AS n FROM payments WHERE order_id = $1", [orderId]), 0);
    const row = (await stack.db.query("SELECT status, status_reason FROM orders WHERE id = $1", [orderId])).rows[0];
    assert.equal(row.status, "rejected");
    assert.match(row.status_reason, /Out of stock/);
    const status = await orders.status(orderId);
    assert.equal(status.status, "failed");
    assert.match(status.message, /Out of stock/);
    const mail = await waitUntil("the cancellation email", () =>
      stack.services.mail.messages.find((m) => m.envelopeTo.includes("grace@example.com")),
    );
    assert.equal(mail.subject, `Order cancelled: ${orderId.slice(-12)}`);
    assert.match(mail.text ?? "", /You were not charged/);
  });

  it("an email the mail server refuses for now goes to EmailSender: the order does not wait, each email arrives once", async () => {
    const email = "later@example.com";
    const keys = (id: string) => [`order:${id}:confirmation`, `order:${id}:shipped`];
    const to = () => stack.services.mail.messages.filter((m) => m.envelopeTo.includes(email));
    stack.services.mail.setRecipientPolicy((a) => (a === email ? { code: 451, message: "4.7.1 Try again later" } : null));
    const orderId = uuidv7();
    try {
      await orders.submit({ orderId, email, paymentMethod: "pm_card_visa", lines: [{ sku: "MUG-QUAY", quantity: 1 }] });
      const done = await result(orderId);
      assert.equal(JSON.parse(done.body).outcome, "fulfilled", done.body);
      // Each was tried by its step, then by EmailSender, and is still waiting for the server.
      await waitUntil(
        "both emails retried by EmailSender",
        async () =>
          (await count("SELECT count(*) AS n FROM emails WHERE idempotency_key = ANY($1) AND attempts >= 2", [keys(orderId)])) ===
          2,
      );
      assert.equal(to().length, 0);
      assert.equal(
        await count("SELECT count(*) AS n FROM emails WHERE idempotency_key = ANY($1) AND status = 'pending'", [keys(orderId)]),
        2,
      );
    } finally {
      stack.services.mail.setRecipientPolicy(null);
    }
    await waitUntil("both emails delivered", () => to().length === 2);
    await emailsSettled();
    assert.deepEqual(
      to()
        .map((m) => m.subject)
        .sort(),
      [`Order confirmed: ${orderId.slice(-12)}`, `Order shipped: ${orderId.slice(-12)}`].sort(),
    );
    assert.equal(
      await count("SELECT count(*) AS n FROM emails WHERE idempotency_key = ANY($1) AND status = 'sent'", [keys(orderId)]),
      2,
    );
  });

  it("a bounced email is recorded by the step that sent it and not tried again", async () => {
    const email = "nobody@example.com";
    stack.services.mail.setRecipientPolicy((a) => (a === email ? { code: 550, message: "5.1.1 No such user" } : null));
    const orderId = uuidv7();
    try {
      await orders.submit({ orderId, email, paymentMethod: "pm_card_visa", lines: [{ sku: "MUG-QUAY", quantity: 1 }] });
      const done = await result(orderId);
      assert.equal(JSON.parse(done.body).outcome, "fulfilled", done.body);
    } finally {
      stack.services.mail.setRecipientPolicy(null);
    }
    const rows = await stack.db.query(
      "SELECT idempotency_key, status, attempts FROM emails WHERE idempotency_key LIKE $1 ORDER BY 1",
      [`order:${orderId}:%`],
    );
    assert.deepEqual(
      rows.rows.map((r) => [r.idempotency_key, r.status, r.attempts]),
      [
        [`order:${orderId}:confirmation`, "bounced", 1],
        [`order:${orderId}:shipped`, "bounced", 1],
      ],
    );
  });

  it("a replayed publish of the same seq is a duplicate, not a new event", async () => {
    const publisher = createProgressPublisher(redis, createLogger({ name: "t", level: "silent", format: "json" }), {
      maxLen: 100,
      ttlSeconds: 60,
    });
    const resource = { kind: "order", id: uuidv7() } as const;
    const draft = { seq: 1, kind: "step", step: "received", percent: 5, status: "running", message: "x" } as const;
    assert.equal((await publisher.publish(resource, draft)).outcome, "appended");
    assert.equal((await publisher.publish(resource, draft)).outcome, "duplicate");
    assert.equal(await redis.xlen(streamKey(resource)), 1);
  });

  it("completes orders while Valkey is down: progress is best-effort, the order is not", async () => {
    await stack.services.valkey.stop();
    try {
      const orderId = uuidv7();
      await orders.submit({
        orderId,
        email: "linus@example.com",
        paymentMethod: "pm_card_mastercard",
        lines: [{ sku: "KNOT-BOOK", quantity: 1 }],
      });
      const done = await result(orderId);
      assert.equal(done.status, 200, done.body);
      const status = await orders.status(orderId);
      assert.equal(status.status, "succeeded");
      assert.equal(status.percent, 100);
    } finally {
      // restart on the same port so later tests (and teardown) find it
      const { startValkey } = await import("../scripts/stack/valkey.ts");
      const path = await import("node:path");
      const fresh = await startValkey({
        port: stack.ports.valkey,
        dataDir: path.join(stack.logDir, "valkey-data"),
        logFile: path.join(stack.logDir, "valkey-2.log"),
      });
      stack.services.valkey = fresh;
    }
  });
});
