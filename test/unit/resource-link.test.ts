import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ACCESS_PARAM, createResourceLinks } from "../../shared/resource-link.ts";

const OLD_KEY = "old-link-key-0123456789abcdefghijklmnop";
const NEW_KEY = "new-link-key-0123456789abcdefghijklmnop";
const ORDER = "01990000-0000-7000-8000-000000000001";
const OTHER = "01990000-0000-7000-8000-000000000002";
const DAY = 86_400;

/** Links on a clock the test moves. */
function linksAt(keys: string[], ttlSeconds = 30 * DAY) {
  const clock = { ms: Date.parse("2025-06-01T12:00:00Z") };
  return { clock, links: createResourceLinks({ keys, ttlSeconds, now: () => clock.ms }) };
}

function flip(token: string, at: number): string {
  const c = token[at]!;
  return `${token.slice(0, at)}${c === "A" ? "B" : "A"}${token.slice(at + 1)}`;
}

describe("resource links", () => {
  it("a token verifies for its own kind and id, and for nothing else", () => {
    const { links } = linksAt([NEW_KEY]);
    const token = links.sign("order", ORDER);
    assert.ok(links.verify("order", ORDER, token));
    assert.equal(links.verify("order", OTHER, token), false, "another order");
    assert.equal(links.verify("content", ORDER, token), false, "another kind with the same id");
    assert.equal(links.verify("campaign", ORDER, token), false);
  });

  it("a changed character anywhere in the token, or a token of the wrong shape, is refused", () => {
    const { links } = linksAt([NEW_KEY]);
    const token = links.sign("order", ORDER);
    for (let i = 0; i < token.length; i++) {
      if (token[i] === ".") continue;
      assert.equal(links.verify("order", ORDER, flip(token, i)), false, `flipped at ${i}`);
    }
    const [expiry, mac] = token.split(".") as [string, string];
    // The last base64url character carries 4 bits of the MAC and 2 unused ones: no second spelling.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = alphabet.indexOf(mac.at(-1)!);
    for (const unused of [1, 2, 3]) {
      const variant = `${expiry}.${mac.slice(0, -1)}${alphabet[last ^ unused]!}`;
      assert.equal(links.verify("order", ORDER, variant), false, `unused bits ${unused}`);
    }
    for (const bad of [
      "",
      mac,
      `${expiry}.`,
      `${expiry}.${mac}x`,
      `${expiry}.${mac.slice(0, -1)}`,
      `${expiry} .${mac}`,
      `${(parseInt(expiry, 36) + 1).toString(36)}.${mac}`,
      `zzzzzzzzzzz.${mac}`,
      `${expiry}.${mac}.${mac}`,
      undefined,
      ["an", "array"],
      42,
    ]) {
      assert.equal(links.verify("order", ORDER, bad), false, JSON.stringify(bad));
    }
  });

  it("a token expires after the configured lifetime", () => {
    const { clock, links } = linksAt([NEW_KEY], 30 * DAY);
    const token = links.sign("order", ORDER);
    clock.ms += (30 * DAY - 1) * 1000;
    assert.ok(links.verify("order", ORDER, token), "still valid a second before expiry");
    clock.ms += 1000;
    assert.equal(links.verify("order", ORDER, token), false, "refused at expiry");
    clock.ms += 365 * DAY * 1000;
    assert.equal(links.verify("order", ORDER, token), false);
  });

  it("rotation: the first key signs, every listed key verifies, a dropped key no longer does", () => {
    const before = linksAt([OLD_KEY]).links;
    const during = linksAt([NEW_KEY, OLD_KEY]).links;
    const after = linksAt([NEW_KEY]).links;
    const oldToken = before.sign("order", ORDER);
    const newToken = during.sign("order", ORDER);
    assert.ok(during.verify("order", ORDER, oldToken), "links signed before the rotation still work");
    assert.ok(during.verify("order", ORDER, newToken));
    assert.ok(after.verify("order", ORDER, newToken), "new links were signed with the new key");
    assert.equal(after.verify("order", ORDER, oldToken), false, "the retired key's links stop working");
    assert.equal(before.verify("order", ORDER, newToken), false, "a key not in the list verifies nothing");
  });

  it("signUrl adds the token as ?access= and keeps the rest of the URL", () => {
    const { links } = linksAt([NEW_KEY]);
    const url = new URL(links.signUrl(`https://shop.example/orders/${ORDER}`, "order", ORDER));
    assert.equal(url.origin + url.pathname, `https://shop.example/orders/${ORDER}`);
    assert.ok(links.verify("order", ORDER, url.searchParams.get(ACCESS_PARAM)));
    assert.deepEqual([...url.searchParams.keys()], [ACCESS_PARAM]);
  });

  it("refuses to be built without a key", () => {
    assert.throws(() => createResourceLinks({ keys: [], ttlSeconds: DAY }), /at least one key/);
  });
});
