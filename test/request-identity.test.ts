/**
 * Who may make the worker act. restate-server signs every request to the worker with this stack's
 * private key, and the worker serves only requests signed by it: a direct call to the worker's
 * port with no signature, another key's signature or a stale one is answered 401 and runs
 * nothing. Handlers that only other handlers call are ingress-private: the ingress refuses them,
 * while the worker's own handlers still send mail.
 */
import assert from "node:assert/strict";
import { createPrivateKey, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import { v7 as uuidv7 } from "uuid";
import { restatePublicKey } from "../scripts/stack/request-identity.ts";
import { createOrdersClient } from "../web/adapters/orders-client.ts";
import { TEST_CALL_TIMEOUT_MS } from "./helpers/call-timeout.ts";
import { waitUntil } from "./helpers/browser-client.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";

/** A v1 request identity token, as restate-server makes them: EdDSA, `kid` the public key, `aud` the path. */
function identityToken(key: KeyObject, path: string, opts: { kid?: string; ageSeconds?: number } = {}): string {
  const now = Math.floor(Date.now() / 1000) - (opts.ageSeconds ?? 0);
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const signed = `${part({ typ: "JWT", alg: "EdDSA", kid: opts.kid ?? restatePublicKey(key) })}.${part({
    aud: path,
    nbf: now - 60,
    iat: now,
    exp: now + 60,
  })}`;
  return `${signed}.${sign(null, Buffer.from(signed), key).toString("base64url")}`;
}

const signedBy = (token: string) => ({ "x-restate-signature-scheme": "v1", "x-restate-jwt-v1": token });

/** One request to the worker's own port over HTTP/2 cleartext, the way restate-server reaches it. */
async function callWorker(
  port: number,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; body: string }> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  try {
    return await new Promise((resolve, reject) => {
      session.once("error", reject);
      const req = session.request({ ":method": body === undefined ? "GET" : "POST", ":path": path, ...headers });
      let status = 0;
      let text = "";
      req.setEncoding("utf8");
      req.on("response", (h) => (status = Number(h[":status"])));
      req.on("data", (chunk: string) => (text += chunk));
      req.on("end", () => resolve({ status, body: text }));
      req.on("error", reject);
      req.end(body);
    });
  } finally {
    session.close();
  }
}

describe("request identity: the worker obeys only Restate", () => {
  let stack: TestStack;
  let orders: ReturnType<typeof createOrdersClient>;
  let restateKey: KeyObject;

  before(async () => {
    stack = await startTestStack("request-identity");
    orders = createOrdersClient({ ingressUrl: stack.services.restate.ingressUrl, timeoutMs: TEST_CALL_TIMEOUT_MS });
    restateKey = createPrivateKey(readFileSync(stack.services.restate.identityKeyFile, "utf8"));
  });
  after(async () => {
    await stack?.stop();
  });

  const placeOrder = async (email: string) => {
    const orderId = uuidv7();
    await orders.submit({ orderId, email, paymentMethod: "pm_card_visa", lines: [{ sku: "MUG-QUAY", quantity: 1 }] });
    const res = await fetch(`${stack.services.restate.ingressUrl}/restate/workflow/OrderFulfilment/${orderId}/attach`);
    assert.equal(res.status, 200, await res.clone().text());
    return { orderId, outcome: ((await res.json()) as { outcome: string }).outcome };
  };
  const subjectsTo = (email: string) =>
    stack.services.mail.messages.filter((m) => m.envelopeTo.includes(email)).map((m) => m.subject);

  it("checks signatures with the stack's key, and an order placed through Restate is fulfilled", async () => {
    assert.equal(stack.env.RESTATE_IDENTITY_KEYS, stack.services.restate.identityKey);
    const { orderId, outcome } = await placeOrder("signed@example.com");
    assert.equal(outcome, "fulfilled");
    const row = (await stack.db.query("SELECT status FROM orders WHERE id = $1", [orderId])).rows[0];
    assert.equal(row.status, "fulfilled");
  });

  it("refuses a direct call with no signature, another key's, a forged one or a stale one (401)", async () => {
    const port = stack.ports.worker;
    const send = "/invoke/EmailSender/send";
    const mail = JSON.stringify({ idempotencyKey: "direct:1", to: "victim@example.com", template: "order-links", data: {} });
    const json = { "content-type": "application/json" };
    const stranger = generateKeyPairSync("ed25519").privateKey;

    const attempts: Array<[string, Record<string, string>]> = [
      ["no signature", json],
      ["explicitly unsigned", { ...json, "x-restate-signature-scheme": "unsigned" }],
      ["signed by another key", { ...json, ...signedBy(identityToken(stranger, send)) }],
      [
        "another key claiming to be Restate's",
        { ...json, ...signedBy(identityToken(stranger, send, { kid: stack.services.restate.identityKey })) },
      ],
      ["Restate's key, for another path", { ...json, ...signedBy(identityToken(restateKey, "/invoke/OrderRefund/refund")) }],
      ["Restate's key, expired", { ...json, ...signedBy(identityToken(restateKey, send, { ageSeconds: 600 })) }],
    ];
    for (const [what, headers] of attempts) {
      const res = await callWorker(port, send, headers, mail);
      assert.equal(res.status, 401, `${what}: ${res.status} ${res.body}`);
    }
    const discoverUnsigned = await callWorker(port, "/discover", { accept: "application/vnd.restate.endpointmanifest.v3+json" });
    assert.equal(discoverUnsigned.status, 401, "the service list is not given away either");

    // The same requests signed with Restate's key get past the check: the tokens above are well formed.
    const discover = await callWorker(port, "/discover", {
      accept: "application/vnd.restate.endpointmanifest.v3+json",
      ...signedBy(identityToken(restateKey, "/discover")),
    });
    assert.equal(discover.status, 200, discover.body);
    assert.match(discover.body, /"EmailSender"/);
    const noContentType = await callWorker(port, send, signedBy(identityToken(restateKey, send)), mail);
    assert.equal(noContentType.status, 415, `signed, it reaches the protocol check: ${noContentType.body}`);

    // Nothing was mailed by any of it: the order placed now is the first message to anyone here.
    await placeOrder("after-direct@example.com");
    await waitUntil("the order's confirmation", () => subjectsTo("after-direct@example.com").length > 0);
    assert.deepEqual(
      stack.services.mail.messages.filter((m) => m.envelopeTo.includes("victim@example.com")),
      [],
    );
  });

  it("refuses ingress-private handlers at the ingress, while the order still sends its mail", async () => {
    const ingress = stack.services.restate.ingressUrl;
    const post = (path: string, body: unknown) =>
      fetch(`${ingress}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const privateCalls: Array<[string, unknown]> = [
      ["/EmailSender/send", { idempotencyKey: "ingress:1", to: "victim@example.com", template: "order-links", data: {} }],
      ["/LlmQuota/openai/reserve", { estimated: 1 }],
    ];
    for (const [path, body] of privateCalls) {
      const res = await post(path, body);
      const text = await res.text();
      assert.equal(res.status, 400, `${path}: ${res.status} ${text}`);
      assert.match(text, /the invoked (service|handler) is not public/, `${path}: ${text}`);
    }

    // The order's own emails still go out (sent by its steps; EmailSender takes any the server defers).
    const email = "private-reached@example.com";
    assert.equal((await placeOrder(email)).outcome, "fulfilled");
    await waitUntil("the confirmation and shipped emails", () => subjectsTo(email).length >= 2);
    assert.deepEqual(
      stack.services.mail.messages.filter((m) => m.envelopeTo.includes("victim@example.com")),
      [],
    );
  });
});
