/** The operator's search box: what it takes, and the one sentence that says so when it is given something else. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ACCEPTED, parseOrderListQuery } from "../../web/order-list-query.ts";

const search = (q: string) => parseOrderListQuery({ q });

describe("the operator's order search", () => {
  it("answers a partial email with what the box accepts, not with the rules of order ids", () => {
    for (const partial of ["ana@", "ana@exam", "@example.com", "ana.smith", "customer12"]) {
      const r = search(partial);
      assert.equal(r.ok, false, partial);
      assert.ok(!r.ok && "errors" in r);
      assert.equal(r.errors.q, ACCEPTED, partial);
    }
    assert.match(ACCEPTED, /whole email address/);
    assert.match(ACCEPTED, /start of an order id/);
  });

  it("finds by a whole address or the start of an order id", () => {
    const email = search("Ana@Example.com");
    assert.ok(email.ok);
    assert.deepEqual(email.query.search, { kind: "email", email: "ana@example.com" });
    const id = search("16de-18df");
    assert.ok(id.ok);
    assert.equal(id.query.search?.kind, "id");
    assert.equal(search("16d").ok, false, "too short to be a useful range");
  });
});
