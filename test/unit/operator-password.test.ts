/** Operator passwords: scrypt with a salt per hash, parameters read back from the stored string. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UNKNOWN_OPERATOR_HASH, hashPassword, verifyPassword } from "../../web/operators/operator-password.ts";

describe("operator passwords", () => {
  it("verifies the password a hash was made from, and nothing else", async () => {
    const stored = await hashPassword("a harbour at dawn");
    assert.match(stored, /^scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);
    assert.equal(await verifyPassword("a harbour at dawn", stored), true);
    for (const wrong of ["a harbour at dawn ", "A harbour at dawn", "", "a harbour at dus"])
      assert.equal(await verifyPassword(wrong, stored), false, JSON.stringify(wrong));
  });

  it("salts each hash: the same password never gives the same string", async () => {
    const [a, b] = [await hashPassword("same password!"), await hashPassword("same password!")];
    assert.notEqual(a, b);
    assert.equal(await verifyPassword("same password!", b), true);
  });

  it("treats unicode in its composed form, so the same typed password always matches", async () => {
    const stored = await hashPassword("caf\u00e9 on the quay");
    assert.equal(await verifyPassword("cafe\u0301 on the quay", stored), true);
  });

  it("refuses malformed or tampered hashes instead of throwing or spending a gigabyte", async () => {
    const stored = await hashPassword("tamper with me");
    for (const bad of [
      "",
      "plain text",
      stored.replace("ln=15", "ln=30"),
      stored.replace("ln=15", "ln=2"),
      stored.replace("r=8", "r=0"),
      stored.replace("r=8", "r=99"),
      stored.replace("p=1", "p=99"),
      stored.replace(/\$[^$]+$/, "$"),
      `bcrypt${stored.slice(6)}`,
    ])
      assert.equal(await verifyPassword("tamper with me", bad), false, bad);
    assert.equal(await verifyPassword("", UNKNOWN_OPERATOR_HASH), false);
  });
});
