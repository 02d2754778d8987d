/**
 * Stock against real Restate and PostgreSQL: an order's reservation takes every line or none and
 * never oversells, however many buyers at once; operators' movements through the Stock service are
 * one movement per id however often sent, a correction sets the units for sale, refusals say why,
 * and restocks in the middle of concurrent orders keep stock = initial + movements − held.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { v7 as uuidv7 } from "uuid";
import type { StockMovementInput } from "../shared/stock-movement.schema.ts";
import { createOrdersClient } from "../web/adapters/orders-client.ts";
import { createStockClient, StockMovementRefused } from "../web/adapters/stock-client.ts";
import { createOrdersRepo } from "../worker/adapters/orders.repo.ts";
import { createStockRepo } from "../worker/adapters/stock.repo.ts";
import { orderDriver } from "./helpers/order-driver.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";

describe("stock movements", () => {
  let stack: TestStack;
  let orders: ReturnType<typeof createOrdersClient>;
  let stock: ReturnType<typeof createStockClient>;

  before(async () => {
    stack = await startTestStack("stock-movements", { env: { SHIPPING_DELAY_MS: "100" } });
    orders = createOrdersClient({ ingressUrl: stack.services.restate.ingressUrl });
    stock = createStockClient({ ingressUrl: stack.services.restate.ingressUrl, timeoutMs: 20_000 });
  });
  after(async () => {
    await stack?.stop();
  });

  const { q, result, place } = orderDriver(
    () => stack,
    () => orders,
  );
  const stockOf = async (sku: string) => Number((await q("SELECT stock FROM products WHERE sku = $1", [sku]))[0].stock);
  const restock = (units: number, movementId = uuidv7()): StockMovementInput => ({
    movementId,
    operator: "dana",
    reason: "delivery from the foundry",
    change: { kind: "restock", units },
  });
  const product = async (sku: string, units: number) =>
    q("INSERT INTO products (sku, name, price_cents, stock) VALUES ($1, $1, 500, $2)", [sku, units]);

  /**
   * Places an order through the statement the order's first step runs (stored with its stock, all
   * lines or none); the reservation as it answered.
   */
  const placeOrder = async (orderId: string, lines: Array<{ sku: string; quantity: number }>) =>
    (
      await createOrdersRepo(stack.db).place({ orderId, email: "x@example.com", paymentMethod: "pm_card_visa", lines }, "test", {
        claimCharge: false,
      })
    ).stock;
  const heldBy = async (orderId: string) =>
    (await q("SELECT sku, quantity, status FROM stock_reservations WHERE order_id = $1 ORDER BY sku", [orderId])).map(
      (r) => `${r.sku}:${r.quantity}:${r.status}`,
    );

  it("an order takes all its lines or none; a retried reservation or release changes nothing", async () => {
    await product("ALL-A", 5);
    await product("ALL-B", 1);
    const repo = createStockRepo(stack.db);
    const tooMany = uuidv7();
    assert.deepEqual(
      await placeOrder(tooMany, [
        { sku: "ALL-A", quantity: 2 },
        { sku: "ALL-B", quantity: 2 },
      ]),
      { reserved: false, short: ["ALL-B"] },
    );
    assert.deepEqual(await heldBy(tooMany), [], "the line that fitted was not taken either");
    assert.equal(await stockOf("ALL-A"), 5);

    const fits = uuidv7();
    const lines = [
      { sku: "ALL-B", quantity: 1 },
      { sku: "ALL-A", quantity: 2 },
    ];
    assert.deepEqual(await placeOrder(fits, lines), { reserved: true });
    assert.deepEqual(await placeOrder(fits, lines), { reserved: true }, "a retried step finds its reservation");
    assert.deepEqual(await heldBy(fits), ["ALL-A:2:reserved", "ALL-B:1:reserved"]);
    assert.deepEqual([await stockOf("ALL-A"), await stockOf("ALL-B")], [3, 0]);

    assert.equal(await repo.releaseOrder(fits), 2);
    assert.equal(await repo.releaseOrder(fits), 0, "a second release finds nothing held");
    assert.deepEqual([await stockOf("ALL-A"), await stockOf("ALL-B")], [5, 1]);
    assert.deepEqual(await placeOrder(fits, lines), { reserved: false, short: [] }, "released stays released");
    assert.deepEqual([await stockOf("ALL-A"), await stockOf("ALL-B")], [5, 1]);
  });

  it("200 buyers at once for 50 units: exactly 50 take one, nothing oversold, a stale attempt beside its retry counts once", async () => {
    await product("HOT-SKU", 50);
    const buyers = Array.from({ length: 200 }, () => uuidv7());
    // Each buyer's order placed twice at once (a stale attempt beside Restate's retry): the one that
    // trips a key is retried, as the step would be, and finds what the other stored.
    const attempt = async (orderId: string): Promise<boolean> => {
      for (;;) {
        try {
          return (await placeOrder(orderId, [{ sku: "HOT-SKU", quantity: 1 }])).reserved;
        } catch (err) {
          if ((err as { code?: string }).code !== "23505") throw err;
        }
      }
    };
    const outcomes = await Promise.all(buyers.flatMap((id) => [attempt(id), attempt(id)]));
    const won = buyers.filter((_, i) => outcomes[2 * i]);
    assert.equal(won.length, 50);
    buyers.forEach((_, i) => assert.equal(outcomes[2 * i], outcomes[2 * i + 1], "both attempts of one order agree"));
    assert.equal(await stockOf("HOT-SKU"), 0);
    const held = await q("SELECT count(*)::int AS n, sum(quantity)::int AS units FROM stock_reservations WHERE sku = 'HOT-SKU'");
    assert.deepEqual(held[0], { n: 50, units: 50 });
  });

  it("a restock adds the units once per movement id, and records who, when, how many and why", async () => {
    await product("RESTOCK-ONCE", 0);
    const req = restock(5);
    assert.deepEqual(await stock.move("RESTOCK-ONCE", req), { applied: true, delta: 5, stock: 5 });
    // The same form sent again (double submit, a retried request), even with another amount: it is the
    // same invocation (the movement id is its idempotency key), so the first answer comes back.
    assert.deepEqual(await stock.move("RESTOCK-ONCE", req), { applied: true, delta: 5, stock: 5 });
    assert.deepEqual(await stock.move("RESTOCK-ONCE", { ...req, change: { kind: "restock", units: 50 } }), {
      applied: true,
      delta: 5,
      stock: 5,
    });
    assert.equal(await stockOf("RESTOCK-ONCE"), 5);
    const rows = await q(
      "SELECT idempotency_id, kind, delta, stock_after, reason, operator, created_at FROM stock_movements WHERE sku = 'RESTOCK-ONCE'",
    );
    assert.equal(rows.length, 1);
    assert.deepEqual(
      { ...rows[0], created_at: undefined },
      {
        idempotency_id: req.movementId,
        kind: "restock",
        delta: 5,
        stock_after: 5,
        reason: "delivery from the foundry",
        operator: "dana",
        created_at: undefined,
      },
    );
    assert.ok(Date.now() - (rows[0].created_at as Date).getTime() < 60_000);
  });

  it("a correction sets the units for sale to the count, and records the difference (also none)", async () => {
    await product("CORRECT-ME", 12);
    const count = (n: number): StockMovementInput => ({
      movementId: uuidv7(),
      operator: "dana",
      reason: "shelf count",
      change: { kind: "correction", count: n },
    });
    assert.deepEqual(await stock.move("CORRECT-ME", count(9)), { applied: true, delta: -3, stock: 9 });
    assert.deepEqual(await stock.move("CORRECT-ME", count(9)), { applied: true, delta: 0, stock: 9 });
    assert.deepEqual(await stock.move("CORRECT-ME", count(0)), { applied: true, delta: -9, stock: 0 });
    assert.deepEqual(
      (await q("SELECT delta FROM stock_movements WHERE sku = 'CORRECT-ME' ORDER BY id")).map((r) => r.delta),
      [-3, 0, -9],
    );
  });

  it("refuses an unknown product and a movement id used for another product, and says why", async () => {
    await assert.rejects(stock.move("NO-SUCH-SKU", restock(1)), (err: unknown) => {
      assert.ok(err instanceof StockMovementRefused);
      assert.match(err.message, /Unknown product: NO-SUCH-SKU/);
      return true;
    });
    await product("ID-OWNER", 1);
    await product("ID-THIEF", 1);
    const req = restock(2);
    await stock.move("ID-OWNER", req);
    await assert.rejects(stock.move("ID-THIEF", req), /used for another product/);
    assert.equal(await stockOf("ID-THIEF"), 1);
  });

  it("a stale attempt beside a retried one changes the stock once (one atomic statement per movement)", async () => {
    await product("STALE-RACE", 0);
    const repo = createStockRepo(stack.db);
    const req = restock(4);
    // Ten attempts of one movement at the same moment, as after a crash: each that trips the unique
    // id is retried, as Restate retries the step, and finds the movement recorded.
    const attempt = async (): Promise<boolean> => {
      for (;;) {
        try {
          return (await repo.move("STALE-RACE", req)).applied;
        } catch (err) {
          if ((err as { code?: string }).code !== "23505") throw err;
        }
      }
    };
    const applied = await Promise.all(Array.from({ length: 10 }, attempt));
    assert.equal(applied.filter(Boolean).length, 1);
    assert.equal(await stockOf("STALE-RACE"), 4);
    assert.equal((await q("SELECT count(*)::int AS n FROM stock_movements WHERE sku = 'STALE-RACE'"))[0].n, 1);
  });

  it("restocks in the middle of 30 concurrent orders: stock = initial + movements − held, nothing oversold", async () => {
    const initial = 4;
    await product("BUSY-SKU", initial);
    const placing = Array.from({ length: 30 }, (_, i) =>
      place(`busy${i}@example.com`, "pm_card_visa", [{ sku: "BUSY-SKU", quantity: 1 + (i % 2) }]),
    );
    // Four restocks of 3 while the orders run, each form submitted twice at once (a double click).
    const restocks = Array.from({ length: 4 }, () => restock(3));
    const moving = restocks.flatMap((r, i) => {
      const send = async () => {
        await new Promise((res) => setTimeout(res, 50 * i));
        return stock.move("BUSY-SKU", r);
      };
      return [send(), send()];
    });
    const [ids, moves] = await Promise.all([Promise.all(placing), Promise.all(moving)]);
    assert.equal(moves.length, 8);
    assert.equal(
      (await q("SELECT count(*)::int AS n FROM stock_movements WHERE sku = 'BUSY-SKU'"))[0].n,
      4,
      "one movement per id",
    );
    const outcomes = await Promise.all(ids.map(result));
    const movements = Number(
      (await q("SELECT coalesce(sum(delta), 0)::int AS n FROM stock_movements WHERE sku = 'BUSY-SKU'"))[0].n,
    );
    assert.equal(movements, 12);
    const held = Number(
      (
        await q(
          "SELECT coalesce(sum(quantity), 0)::int AS n FROM stock_reservations WHERE sku = 'BUSY-SKU' AND status = 'reserved'",
        )
      )[0].n,
    );
    const now = await stockOf("BUSY-SKU");
    assert.equal(now, initial + movements - held);
    assert.ok(now >= 0);
    const fulfilledUnits = ids.map((_, i) => (outcomes[i]?.outcome === "fulfilled" ? 1 + (i % 2) : 0)).reduce((a, b) => a + b, 0);
    assert.equal(held, fulfilledUnits, "every unit held belongs to a fulfilled order");
    assert.ok(fulfilledUnits > initial, "the restocks were sold too");
    assert.ok(
      outcomes.some((o) => o.outcome === "rejected"),
      "some orders found the product sold out",
    );
  });
});
