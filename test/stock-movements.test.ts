/**
 * Operators' stock movements through the Inventory object, against real Restate and PostgreSQL:
 * a movement id is one movement however often it is sent, a correction sets the units for sale,
 * refusals say why, and restocks in the middle of concurrent orders keep
 * stock = initial + movements − held.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { v7 as uuidv7 } from "uuid";
import type { StockMovementInput } from "../shared/stock-movement.schema.ts";
import { createOrdersClient } from "../web/adapters/orders-client.ts";
import { createStockClient, StockMovementRefused } from "../web/adapters/stock-client.ts";
import { createInventoryRepo } from "../worker/adapters/inventory.repo.ts";
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
    const repo = createInventoryRepo(stack.db);
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
