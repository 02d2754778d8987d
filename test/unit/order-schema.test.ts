import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { v7 } from "uuid";
import { orderFormSchema, orderIdSchema, placeOrderInputSchema } from "../../shared/order.schema.ts";

interface FormInput {
  orderId: string;
  email: string;
  paymentMethod: string;
  quantities: Record<string, string>;
}

function form(patch: Partial<FormInput> = {}): FormInput {
  return {
    orderId: v7(),
    email: "ada@example.com",
    paymentMethod: "pm_card_visa",
    quantities: { "MUG-01": "2", "TEE-02": "", "CAP-03": "0" },
    ...patch,
  };
}

/** The issues of a failed parse as `path: message` strings. */
function issues(input: unknown): string[] {
  const r = orderFormSchema(false).safeParse(input);
  assert.equal(r.success, false, "expected the form to be rejected");
  return r.error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`) ?? [];
}

describe("orderFormSchema", () => {
  it("turns a valid form into lines for quantities above zero only", () => {
    const input = form();
    const r = orderFormSchema(false).safeParse(input);
    assert.ok(r.success, JSON.stringify(r.error?.issues));
    assert.deepEqual(r.data, {
      orderId: input.orderId,
      email: "ada@example.com",
      paymentMethod: "pm_card_visa",
      lines: [{ sku: "MUG-01", quantity: 2 }],
    });
  });

  it("keeps several lines, in form order, with numeric quantities", () => {
    const r = orderFormSchema(false).parse(form({ quantities: { A1: "1", B2: "", C3: "20", D4: " 3 " } }));
    assert.deepEqual(r.lines, [
      { sku: "A1", quantity: 1 },
      { sku: "C3", quantity: 20 },
      { sku: "D4", quantity: 3 },
    ]);
  });

  it("trims the email address", () => {
    const r = orderFormSchema(false).parse(form({ email: "  ada@example.com \n" }));
    assert.equal(r.email, "ada@example.com");
  });

  it("accepts the mastercard test payment method", () => {
    assert.equal(orderFormSchema(false).parse(form({ paymentMethod: "pm_card_mastercard" })).paymentMethod, "pm_card_mastercard");
  });

  it("rejects a bad email with 'Enter a valid email address'", () => {
    assert.deepEqual(issues(form({ email: "not-an-email" })), ["email: Enter a valid email address"]);
  });

  it("rejects a blank email with 'Enter your email address'", () => {
    assert.deepEqual(issues(form({ email: "   " })), ["email: Enter your email address"]);
  });

  it("rejects a form with no products at path ['quantities']", () => {
    const r = orderFormSchema(false).safeParse(form({ quantities: { "MUG-01": "", "TEE-02": "0" } }));
    assert.equal(r.success, false);
    assert.equal(r.error?.issues.length, 1);
    assert.deepEqual(r.error?.issues[0]?.path, ["quantities"]);
    assert.equal(r.error?.issues[0]?.message, "Choose at least one product");
    assert.deepEqual(issues(form({ quantities: {} })), ["quantities: Choose at least one product"]);
  });

  it("rejects more than 20 of a product with 'At most 20 per product'", () => {
    assert.deepEqual(issues(form({ quantities: { "MUG-01": "999" } })), ["quantities.MUG-01: At most 20 per product"]);
    assert.deepEqual(issues(form({ quantities: { "MUG-01": "21" } })), ["quantities.MUG-01: At most 20 per product"]);
  });

  it("rejects negative and fractional quantities with 'Quantity must be a whole number'", () => {
    const ok = { "TEE-02": "1" };
    assert.deepEqual(issues(form({ quantities: { ...ok, "MUG-01": "-1" } })), [
      "quantities.MUG-01: Quantity must be a whole number",
    ]);
    assert.deepEqual(issues(form({ quantities: { ...ok, "MUG-01": "1.5" } })), [
      "quantities.MUG-01: Quantity must be a whole number",
    ]);
    assert.deepEqual(issues(form({ quantities: { ...ok, "MUG-01": "two" } })), [
      "quantities.MUG-01: Quantity must be a whole number",
    ]);
    assert.deepEqual(issues(form({ quantities: { ...ok, "MUG-01": "1000" } })), ["quantities.MUG-01: At most 20 per product"]);
    // More than six digits is not a quantity anyone meant.
    assert.deepEqual(issues(form({ quantities: { ...ok, "MUG-01": "1234567" } })), [
      "quantities.MUG-01: Quantity must be a whole number",
    ]);
  });

  it("reports the whole-number error first when it is the only product (the no-product check also fires)", () => {
    // zod still runs the form-level refinement after a field error; a lone "-1" leaves no positive quantity.
    assert.deepEqual(issues(form({ quantities: { "MUG-01": "-1" } })), [
      "quantities.MUG-01: Quantity must be a whole number",
      "quantities: Choose at least one product",
    ]);
  });

  it("reports field errors and the no-product error together", () => {
    assert.deepEqual(issues(form({ email: "bad", quantities: { "MUG-01": "" } })), [
      "email: Enter a valid email address",
      "quantities: Choose at least one product",
    ]);
  });

  it("rejects an unknown or missing payment method with 'Choose a payment method'", () => {
    assert.deepEqual(issues(form({ paymentMethod: "pm_card_amex" })), ["paymentMethod: Choose a payment method"]);
    const { paymentMethod: _omit, ...rest } = form();
    assert.deepEqual(issues(rest), ["paymentMethod: Choose a payment method"]);
  });

  it("rejects an order id that is a v4 uuid or not a uuid", () => {
    assert.deepEqual(issues(form({ orderId: randomUUID() })), ["orderId: is not a valid order id"]);
    assert.deepEqual(issues(form({ orderId: "42" })), ["orderId: is not a valid order id"]);
  });

  it("rejects an invalid SKU key", () => {
    const r = orderFormSchema(false).safeParse(form({ quantities: { "mug 01": "1" } }));
    assert.equal(r.success, false);
    assert.ok(r.error?.issues.some((i) => i.path[0] === "quantities"));
  });
});

describe("orderIdSchema", () => {
  it("accepts a v7 uuid", () => {
    const id = v7();
    assert.equal(orderIdSchema.parse(id), id);
  });
});

describe("placeOrderInputSchema", () => {
  const valid = () => ({
    orderId: v7(),
    email: "ada@example.com",
    paymentMethod: "pm_card_visa",
    lines: [{ sku: "MUG-01", quantity: 1 }],
  });

  it("accepts a valid input", () => {
    const input = valid();
    assert.deepEqual(placeOrderInputSchema.parse(input), input);
  });

  it("rejects quantity 0 and quantity 21", () => {
    for (const quantity of [0, 21, 1.5]) {
      const r = placeOrderInputSchema.safeParse({
        ...valid(),
        lines: [{ sku: "MUG-01", quantity }],
      });
      assert.equal(r.success, false, `quantity ${quantity}`);
      assert.deepEqual(r.error?.issues[0]?.path, ["lines", 0, "quantity"]);
    }
  });

  it("rejects an empty lines array", () => {
    const r = placeOrderInputSchema.safeParse({ ...valid(), lines: [] });
    assert.equal(r.success, false);
    assert.deepEqual(r.error?.issues[0]?.path, ["lines"]);
  });

  it("rejects a lowercase SKU and a v4 order id", () => {
    assert.equal(
      placeOrderInputSchema.safeParse({
        ...valid(),
        lines: [{ sku: "mug", quantity: 1 }],
      }).success,
      false,
    );
    assert.equal(placeOrderInputSchema.safeParse({ ...valid(), orderId: randomUUID() }).success, false);
  });
});
