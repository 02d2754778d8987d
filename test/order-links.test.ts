/**
 * Signed order links and "email me my orders", against the real stack (web and worker as
 * processes): the confirmation email's link opens the order in another browser session, which
 * can then follow and cancel it like the one that placed it; tampered, expired and other orders'
 * tokens are 404; a lookup emails an address links to its own orders only, answers the same for
 * an address without orders, is idempotent and limited per address; tokens and the looked-up
 * address reach no log line and no metric.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { v7 as uuidv7 } from "uuid";
import { orderLookupKey } from "../shared/order-lookup.schema.ts";
import { createResourceLinks } from "../shared/resource-link.ts";
import { BrowserClient, extract, waitUntil, postOrderForm } from "./helpers/browser-client.ts";
import { orderLinksIn, tampered } from "./helpers/mail-links.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";

const LINK_KEY = "order-links-test-signing-key-0123456789abcdef";
const LOOKUP_ADDRESS = "lookup-only-Person@links.example";

describe("signed order links and email me my orders", () => {
  let stack: TestStack;
  let alice: BrowserClient;
  /** Every token seen in any email, to look for in the logs and metrics afterwards. */
  const tokens = new Set<string>();

  before(async () => {
    stack = await startTestStack("order-links", {
      web: true,
      env: {
        LINK_SIGNING_KEYS: LINK_KEY,
        // Two harbour lamps (€178) wait for approval: an order that stays cancellable.
        APPROVAL_THRESHOLD_CENTS: "15000",
        ORDER_LOOKUP_PER_ADDRESS_PER_HOUR: "3",
      },
    });
    alice = new BrowserClient(stack.webUrl);
  });
  after(async () => {
    await stack?.stop();
  });

  const mailsTo = (address: string) =>
    stack.services.mail.messages.filter((m) => m.envelopeTo.map((a) => a.toLowerCase()).includes(address.toLowerCase()));
  const orderStatus = async (id: string) =>
    (await stack.db.query("SELECT status FROM orders WHERE id = $1", [id])).rows[0]?.status as string | undefined;

  async function placeOrder(client: BrowserClient, qty: Record<string, string>, email: string): Promise<string> {
    const { orderId, status } = await postOrderForm(client, { email, quantities: qty });
    assert.equal(status, 303);
    return orderId;
  }

  /**
   * What the worker's OrderLinks answered for one form submission, found in Restate by the
   * idempotency key the web and the worker both derive from it (attaching waits for the lookup and
   * its email to finish), or null when the web never handed the submission to Restate.
   */
  async function lookupOutcome(email: string, lookupId: string): Promise<unknown> {
    const key = orderLookupKey({ lookupId, email: email.toLowerCase() }); // path-safe as it is: Restate matches it undecoded
    const res = await fetch(`${stack.services.restate.ingressUrl}/restate/invocation/OrderLinks/send/${key}/attach`);
    const body = await res.text();
    if (res.status === 404) return null;
    assert.equal(res.status, 200, body);
    return JSON.parse(body);
  }

  async function lookUp(client: BrowserClient, email: string, lookupId?: string) {
    const form = await client.get("/orders/find");
    assert.equal(form.status, 200);
    return client.postForm("/orders/find", {
      _csrf: extract(form.html, "_csrf"),
      lookupId: lookupId ?? extract(form.html, "lookupId"),
      email,
    });
  }

  it("the confirmation email's link opens the order in another session, which then follows its stream", async () => {
    const orderId = await placeOrder(alice, { "MUG-QUAY": "1" }, "alice@links.example");
    const mail = await waitUntil("the confirmation email", () =>
      mailsTo("alice@links.example").find((m) => m.subject.startsWith("Order confirmed")),
    );
    const [link, ...more] = orderLinksIn(mail.text);
    assert.ok(link, mail.text ?? "");
    assert.deepEqual(more, []);
    assert.equal(link.orderId, orderId);
    assert.ok(mail.html?.includes(link.url.replaceAll("&", "&amp;")), "the HTML part has the same signed link");
    tokens.add(link.token);

    const phone = new BrowserClient(stack.webUrl);
    assert.equal((await phone.get(`/orders/${orderId}`)).status, 404, "without the link: 404, as before");
    const opened = await phone.get(link.url.replace(stack.webUrl, ""));
    assert.equal(opened.status, 303);
    assert.equal(opened.res.headers.get("location"), `/orders/${orderId}`, "redirected to the plain URL, token gone");
    assert.equal(opened.res.headers.get("referrer-policy"), "no-referrer");
    const page = await phone.get(`/orders/${orderId}`);
    assert.equal(page.status, 200);
    assert.ok(page.html.includes(orderId));
    const stream = await phone.sse(`/orders/${orderId}/events`, { stopWhen: (e) => e.event === "done" });
    assert.equal(stream.status, 200);
    assert.ok(stream.events.some((e) => e.event === "progress"));
    assert.ok((await phone.get("/orders")).html.includes(orderId), "listed under My orders in the new session");
    assert.equal((await alice.get(`/orders/${orderId}`)).status, 200, "the session that placed it keeps it");
    // Opening the link again (or an expired one) in a session that has the order just drops the token.
    assert.equal((await phone.get(link.url.replace(stack.webUrl, ""))).status, 303);
  });

  it("a tampered, expired, other order's or wrong-kind token gets the same 404 as no access", async () => {
    const mine = await placeOrder(alice, { "MUG-QUAY": "1" }, "alice@links.example");
    const theirs = await placeOrder(new BrowserClient(stack.webUrl), { "MUG-QUAY": "1" }, "someone@links.example");
    const mail = await waitUntil("the confirmation email", () =>
      mailsTo("alice@links.example").find((m) => m.subject.includes(mine.slice(-12))),
    );
    const [link] = orderLinksIn(mail.text);
    assert.ok(link);
    tokens.add(link.token);
    const expired = createResourceLinks({ keys: [LINK_KEY], ttlSeconds: 300, now: () => Date.now() - 3_600_000 });
    const otherKey = createResourceLinks({ keys: ["some-other-deployment-key-0123456789abcdef"], ttlSeconds: 3_600 });
    const rightKey = createResourceLinks({ keys: [LINK_KEY], ttlSeconds: 3_600 });
    const stranger = new BrowserClient(stack.webUrl);
    const noAccess = await stranger.get(`/orders/${mine}`);
    const attempts: Record<string, string> = {
      tampered: tampered(link).replace(stack.webUrl, ""),
      expired: `/orders/${mine}?access=${expired.sign("order", mine)}`,
      "another order's token": `/orders/${theirs}?access=${link.token}`,
      "signed by another key": `/orders/${mine}?access=${otherKey.sign("order", mine)}`,
      "signed for a content job with this id": `/orders/${mine}?access=${rightKey.sign("content", mine)}`,
      empty: `/orders/${mine}?access=`,
      repeated: `/orders/${mine}?access=x&access=${link.token}`,
    };
    for (const [what, url] of Object.entries(attempts)) {
      const res = await stranger.get(url);
      assert.equal(res.status, 404, what);
      assert.equal(res.html.replace(/_csrf" value="[^"]*"/g, ""), noAccess.html.replace(/_csrf" value="[^"]*"/g, ""), what);
    }
    for (const id of [mine, theirs]) assert.equal((await stranger.get(`/orders/${id}`)).status, 404, "nothing was granted");
    assert.doesNotMatch((await stranger.get("/orders")).html, new RegExp(`${mine}|${theirs}`));
    // The expired link's signature is right: only its age is refused (the same key signs a fresh one that works).
    assert.equal((await stranger.get(`/orders/${mine}?access=${rightKey.sign("order", mine)}`)).status, 303);
  });

  it("emails an address links to its own recent orders only; each opens and can cancel while cancellable", async () => {
    const bob = new BrowserClient(stack.webUrl);
    const address = LOOKUP_ADDRESS.toLowerCase();
    // Placed with different capitalisation: the lookup still finds them.
    const waiting = await placeOrder(bob, { "LAMP-HARBOUR": "2" }, LOOKUP_ADDRESS);
    const small = await placeOrder(bob, { "MUG-QUAY": "1" }, address);
    const notBobs = await placeOrder(bob, { "MUG-QUAY": "1" }, "not-bob@links.example");
    await waitUntil("the large order to wait for approval", async () => (await orderStatus(waiting)) === "awaiting_approval");
    await waitUntil("the small order to be fulfilled", async () => (await orderStatus(small)) === "fulfilled");
    // Order emails are one-way sends: the shipped one may land just after the order is fulfilled.
    await waitUntil("the small order's shipped email", () => mailsTo(address).find((m) => m.subject.startsWith("Order shipped")));
    const before = mailsTo(address).length;

    const laptop = new BrowserClient(stack.webUrl);
    const res = await lookUp(laptop, "  Lookup-Only-PERSON@links.example ");
    assert.equal(res.status, 303);
    assert.equal(res.res.headers.get("location"), "/orders/find?sent=1");
    const mail = await waitUntil("the lookup email", () => mailsTo(address).find((m) => m.subject === "Your Quayside orders"));
    const links = orderLinksIn(mail.text);
    assert.deepEqual(links.map((l) => l.orderId).sort(), [waiting, small].sort(), "this address's orders, no other");
    assert.ok(!mail.text?.includes(notBobs) && !mail.html?.includes(notBobs));
    for (const l of links) tokens.add(l.token);
    assert.equal(mailsTo(address).length, before + 1, "one message");

    for (const l of links) {
      assert.equal((await laptop.get(`/orders/${l.orderId}`)).status, 404, "the lookup itself grants nothing");
      assert.equal((await laptop.get(l.url.replace(stack.webUrl, ""))).status, 303);
      assert.equal((await laptop.get(`/orders/${l.orderId}`)).status, 200);
    }
    // Cancel from the session that opened the link: accepted while the order is cancellable...
    const csrf = extract((await laptop.get(`/orders/${waiting}`)).html, "_csrf");
    const cancel = await laptop.postForm(`/orders/${waiting}/cancel`, { _csrf: csrf });
    assert.equal(cancel.status, 303);
    assert.equal(cancel.res.headers.get("location"), `/orders/${waiting}?cancel=requested`);
    await waitUntil("the order to be cancelled", async () => (await orderStatus(waiting)) === "cancelled");
    // ...and refused once it has shipped, as for the session that placed it.
    const late = await laptop.postForm(`/orders/${small}/cancel`, { _csrf: csrf });
    assert.equal(late.res.headers.get("location"), `/orders/${small}?cancel=refused`);
    assert.equal(await orderStatus(small), "fulfilled");
  });

  it("answers an address without orders exactly the same, and sends it nothing", async () => {
    const client = new BrowserClient(stack.webUrl);
    const address = "has-an-order@links.example";
    const nobody = "nobody-at-all@links.example";
    const orderId = await placeOrder(client, { "MUG-QUAY": "1" }, address);
    await waitUntil("the order to be stored", async () => (await orderStatus(orderId)) !== undefined);
    const [withId, withoutId] = [uuidv7(), uuidv7()];
    const withOrders = await lookUp(client, address, withId);
    const without = await lookUp(client, nobody, withoutId);
    for (const res of [withOrders, without]) {
      assert.equal(res.status, 303);
      assert.equal(res.res.headers.get("location"), "/orders/find?sent=1");
      assert.equal(res.html, withOrders.html);
    }
    const page = await client.get("/orders/find?sent=1");
    assert.match(page.html, /If there are orders for that address, we have sent it an email/);
    // Both lookups have run to their end in the worker, emails included.
    assert.deepEqual(await lookupOutcome(address, withId), { linked: 1 });
    assert.deepEqual(await lookupOutcome(nobody, withoutId), { linked: 0 });
    assert.equal(mailsTo(address).filter((m) => m.subject === "Your Quayside orders").length, 1);
    assert.deepEqual(mailsTo(nobody), []);
  });

  it("one message per form submission, and at most the per-address limit per hour (same answer beyond it)", async () => {
    const address = "limited@links.example";
    const orderId = await placeOrder(alice, { "MUG-QUAY": "1" }, address);
    // The lookup finds stored orders: wait until the workflow has saved this one.
    await waitUntil("the order to be stored", async () => (await orderStatus(orderId)) !== undefined);
    const client = new BrowserClient(stack.webUrl);
    const lookupIds = [uuidv7(), uuidv7(), uuidv7(), uuidv7()];
    assert.equal((await lookUp(client, address, lookupIds[0])).status, 303);
    assert.equal((await lookUp(client, address, lookupIds[0])).status, 303, "a double submit");
    for (const lookupId of lookupIds.slice(1)) {
      const res = await lookUp(new BrowserClient(stack.webUrl), address, lookupId);
      assert.equal(res.status, 303);
      assert.equal(res.res.headers.get("location"), "/orders/find?sent=1");
    }
    // Five submissions: the double submit is one lookup, the next is the second, and the limit (3 an
    // hour) stops the rest before they reach the worker. Each lookup that ran has finished, email included.
    assert.deepEqual(await Promise.all(lookupIds.map((id) => lookupOutcome(address, id))), [
      { linked: 1 },
      { linked: 1 },
      null,
      null,
    ]);
    const sent = mailsTo(address).filter((m) => m.subject === "Your Quayside orders");
    assert.equal(sent.length, 2, `${sent.length} lookup emails`);
  });

  it("bad input is a 422 with field messages, keeping what was typed", async () => {
    const client = new BrowserClient(stack.webUrl);
    const form = await client.get("/orders/find");
    const csrf = extract(form.html, "_csrf");
    const bad = await client.postForm("/orders/find", {
      _csrf: csrf,
      lookupId: extract(form.html, "lookupId"),
      email: "not an email",
    });
    assert.equal(bad.status, 422);
    assert.match(bad.html, /id="email-error">Enter a valid email address/);
    assert.match(bad.html, /value="not an email"/);
    const empty = await client.postForm("/orders/find", { _csrf: csrf, lookupId: extract(form.html, "lookupId"), email: "" });
    assert.match(empty.html, /Enter your email address/);
    const forged = await client.postForm("/orders/find", { _csrf: csrf, lookupId: "not-an-id", email: "a@links.example" });
    assert.equal(forged.status, 422);
    assert.match(forged.html, /id="lookupId-error">This form has expired/);
    assert.notEqual(extract(forged.html, "lookupId"), "not-an-id", "a fresh id to try again with");
  });

  it("tokens and the looked-up address appear in no log line and no metric", async () => {
    // This test's own link and lookup, so that there is something to look for whichever tests ran before.
    const address = "in-no-log@links.example";
    const client = new BrowserClient(stack.webUrl);
    const orderId = await placeOrder(client, { "MUG-QUAY": "1" }, address);
    const confirmation = await waitUntil("the confirmation email", () =>
      mailsTo(address).find((m) => m.subject.startsWith("Order confirmed")),
    );
    const [link] = orderLinksIn(confirmation.text);
    assert.ok(link);
    tokens.add(link.token);
    assert.equal((await new BrowserClient(stack.webUrl).get(link.url.replace(stack.webUrl, ""))).status, 303);
    const lookupId = uuidv7();
    assert.equal((await lookUp(client, address, lookupId)).status, 303);
    assert.deepEqual(await lookupOutcome(address, lookupId), { linked: 1 });
    const lookupMail = mailsTo(address).find((m) => m.subject === "Your Quayside orders");
    const linked = orderLinksIn(lookupMail?.text ?? null);
    assert.equal(linked.length, 1);
    for (const l of linked) tokens.add(l.token);
    const webLog = () => readFileSync(path.join(stack.logDir, "web.log"), "utf8");
    await waitUntil("the web's log line for the opened link", () =>
      webLog()
        .split("\n")
        .some((line) => line.includes("signed link opened") && line.includes(orderId)),
    );
    const metrics = await (await fetch(`http://127.0.0.1:${stack.ports.webMetrics}/metrics`)).text();
    assert.match(metrics, /route="\/orders\/:id"/);
    assert.match(metrics, /route="\/orders\/find"/);
    const logs = {
      web: webLog(),
      worker: readFileSync(path.join(stack.logDir, "worker.log"), "utf8"),
      metrics,
    };
    assert.match(logs.web, /signed link opened/, "the logs are there to be searched");
    for (const [where, text] of Object.entries(logs)) {
      for (const token of tokens) {
        assert.ok(!text.includes(token), `${where} contains a link token`);
        assert.ok(!text.includes(token.split(".")[1]!), `${where} contains a link MAC`);
      }
      assert.doesNotMatch(text, /access=/, where);
      for (const looked of [address, LOOKUP_ADDRESS, "nobody-at-all@links.example", "limited@links.example"]) {
        assert.ok(!text.toLowerCase().includes(looked.toLowerCase()), `${where} contains ${looked}`);
      }
    }
  });
});
