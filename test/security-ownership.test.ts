/**
 * Whose is what, against the real stack: another session gets 404 for every page, stream and
 * action of someone else's order, job and campaign (the customer routes with an `:id`, read from
 * the app's routers), an operator reads an order but acts on nothing of a customer's, submitting
 * someone else's id is a 409, and a signed link opens its own resource only.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { v7 as uuidv7 } from "uuid";
import { createResourceLinks } from "../shared/resource-link.ts";
import { isOperatorPath } from "../web/operators/operator-gate.ts";
import type { RegisteredRoute } from "../web/route-list.ts";
import { BrowserClient, waitUntil } from "./helpers/browser-client.ts";
import { fillPath } from "./helpers/route-params.ts";
import { headerProblems, inlineCodeProblems } from "./helpers/security-checks.ts";
import { LINK_KEY, PAYLOAD, startSecurityFixture, type SecurityFixture } from "./helpers/security-fixture.ts";

describe("web security: another session gets 404 for someone else's order, job and campaign", () => {
  let f: SecurityFixture;
  before(async () => {
    f = await startSecurityFixture("security-ownership");
  });
  after(async () => {
    await f?.close();
  });

  /** The customer routes that name one of alice's resources by its id: pages, streams (`…/events`) and actions. */
  function resourceRoutes() {
    const owned = f.web.routes().filter((r) => !isOperatorPath(r.path) && r.params.includes("id"));
    const reads = owned.filter((r) => r.method === "GET");
    const isStream = (r: RegisteredRoute) => r.path.endsWith("/events");
    return {
      pages: reads.filter((r) => !isStream(r)).flatMap(f.pathsOf),
      streams: reads.filter(isStream).flatMap(f.pathsOf),
      actions: owned.filter((r) => r.method !== "GET").flatMap(f.pathsOf),
      reads,
    };
  }

  it("pages, streams and actions: 404 for bob (and for the operator's, but for reading the order), 200 for alice", async () => {
    const { alice, bob, operator, orderId, jobId, campaignId } = f;
    const bobsToken = await f.tokenOf(bob);
    const operatorsToken = await f.tokenOf(operator);
    const { pages, streams, actions } = resourceRoutes();
    // Read from the routers: the pages, streams and actions every kind of resource has, among others added later.
    for (const [list, known] of [
      [pages, [`/orders/${orderId}`, `/content/${jobId}`, `/emails/${campaignId}`]],
      [streams, [`/orders/${orderId}/events`, `/content/${jobId}/events`, `/emails/${campaignId}/events`]],
      [actions, [`/orders/${orderId}/cancel`, `/emails/${campaignId}/cancel`]],
    ] as const)
      assert.deepEqual(
        known.filter((path) => !list.includes(path)),
        [],
        list.join(", "),
      );
    for (const [who, client, token] of [
      ["bob", bob, bobsToken],
      ["the operator", operator, operatorsToken],
    ] as const) {
      for (const path of pages) {
        const res = await client.get(path);
        if (client === operator && path === `/orders/${orderId}`) {
          // An operator may read any order's page (the console links to it), without its controls.
          assert.equal(res.status, 200, `${who}: GET ${path}`);
          assert.ok(!res.html.includes(`/orders/${orderId}/cancel`), `${who}: no cancel form on ${path}`);
          continue;
        }
        assert.equal(res.status, 404, `${who}: GET ${path}`);
        assert.ok(
          !res.html.includes("alice@security.example") && !res.html.includes("News &lt;img"),
          `${who}: ${path} leaks nothing`,
        );
        // A fragment request (htmx) and a boosted one are the same 404.
        assert.equal((await client.get(path, { "hx-request": "true" })).status, 404, `${who}: htmx GET ${path}`);
      }
      for (const path of streams) {
        if (client === operator && path === `/orders/${orderId}/events`) {
          const res = await client.sse(path, { stopWhen: () => true, timeoutMs: 10_000 });
          assert.equal(res.status, 200, `${who}: stream ${path}, read-only`);
          assert.ok(!res.events.some((e) => e.data.includes("/cancel")), `${who}: no cancel form in ${path}`);
          continue;
        }
        const res = await client.sse(path, { timeoutMs: 5_000 });
        assert.equal(res.status, 404, `${who}: stream ${path}`);
        assert.equal((await client.sse(`${path}?after=0`, { lastEventId: "0", timeoutMs: 5_000 })).status, 404);
      }
      for (const path of actions) {
        const res = await client.postForm(path, { _csrf: token });
        assert.equal(res.status, 404, `${who}: POST ${path} with their own valid token`);
      }
      for (const list of ["/orders", "/content", "/emails"]) {
        const html = (await client.get(list)).html;
        for (const id of [orderId, jobId, campaignId]) assert.ok(!html.includes(id), `${who}: ${list} does not list ${id}`);
      }
    }
    // Submitting a form with alice's id does not take it over: 409, and bob still gets 404.
    const takeovers: Array<[string, Record<string, string>]> = [
      ["/orders", { orderId, email: "bob@security.example", paymentMethod: "pm_card_visa", "qty[MUG-QUAY]": "1" }],
      ["/content", { jobId, productName: "Mine now", details: "x" }],
      ["/emails", { campaignId, subject: "Mine now", format: "text", body: "x", recipients: "bob@security.example" }],
    ];
    for (const [path, fields] of takeovers) {
      const res = await bob.postForm(path, { _csrf: bobsToken, ...fields });
      assert.equal(res.status, 409, `bob re-submitting alice's id to ${path}`);
    }
    for (const path of pages) assert.equal((await bob.get(path)).status, 404, `still 404 after the attempt: ${path}`);

    for (const path of pages) assert.equal((await alice.get(path)).status, 200, `alice: GET ${path}`);
    for (const path of streams) {
      const res = await alice.sse(path, { stopWhen: () => true, timeoutMs: 10_000 });
      assert.equal(res.status, 200, `alice: stream ${path}`);
      assert.match(res.contentType ?? "", /text\/event-stream/);
      assert.ok(res.events.length > 0, `alice: ${path} sends its snapshot`);
    }
    // Alice's own cancel (with her token) works: on an order of this test's own, so that the
    // file's shared order waits for approval whichever tests run, and in whatever order.
    const own = await f.placeOrder(alice, { "LAMP-HARBOUR": "2" }, "alice@security.example");
    await waitUntil("her order to wait for approval", async () => (await f.orderStatus(own)) === "awaiting_approval");
    const cancel = await alice.postForm(`/orders/${own}/cancel`, { _csrf: await f.tokenOf(alice) });
    assert.equal(cancel.status, 303);
    assert.equal(cancel.res.headers.get("location"), `/orders/${own}?cancel=requested`);
    await waitUntil("her order to be cancelled", async () => (await f.orderStatus(own)) === "cancelled");
  });

  it("signed links: a tampered, expired, wrong-kind or other resource's token is 404; a valid one grants that resource only", async () => {
    const { web, alice, bob, orderId, jobId, campaignId } = f;
    const signer = createResourceLinks({ keys: [LINK_KEY], ttlSeconds: 3_600 });
    const expired = createResourceLinks({ keys: [LINK_KEY], ttlSeconds: 300, now: () => Date.now() - 3_600_000 });
    const foreign = createResourceLinks({ keys: ["another-deployment-link-key-0123456789abcdef"], ttlSeconds: 3_600 });
    const carol = new BrowserClient(web.url);
    const resources = [
      { kind: "order", id: orderId, page: `/orders/${orderId}` },
      { kind: "content", id: jobId, page: `/content/${jobId}` },
      { kind: "campaign", id: campaignId, page: `/emails/${campaignId}` },
    ] as const;
    for (const r of resources) {
      const valid = signer.sign(r.kind, r.id);
      const flipped = `${valid.slice(0, -2)}${valid.at(-2) === "A" ? "B" : "A"}${valid.at(-1) ?? ""}`;
      const otherKind = resources.find((o) => o.kind !== r.kind)!.kind;
      const forged: Record<string, string> = {
        tampered: flipped,
        expired: expired.sign(r.kind, r.id),
        "another kind": signer.sign(otherKind, r.id),
        "another id": signer.sign(r.kind, uuidv7()),
        "another key": foreign.sign(r.kind, r.id),
        "no MAC": valid.split(".")[0] ?? "",
        markup: PAYLOAD,
      };
      for (const [what, token] of Object.entries(forged)) {
        const res = await carol.get(`${r.page}?access=${encodeURIComponent(token)}`);
        assert.equal(res.status, 404, `${r.kind} with ${what}`);
        assert.deepEqual(inlineCodeProblems(res.html), [], `${r.kind} with ${what}`);
        assert.equal((await carol.get(r.page)).status, 404, `${r.kind}: ${what} granted nothing`);
      }
      // A token on a stream or an action is not a way in: only the page redeems it.
      assert.equal((await carol.sse(`${r.page}/events?access=${valid}`, { timeoutMs: 5_000 })).status, 404);
    }
    for (const r of resources) {
      const opened = await carol.get(`${r.page}?access=${signer.sign(r.kind, r.id)}`);
      assert.equal(opened.status, 303, r.kind);
      assert.equal(opened.res.headers.get("location"), r.page, `${r.kind}: to the plain URL`);
      assert.deepEqual(headerProblems(opened.res.headers), [], r.kind);
      assert.equal((await carol.get(r.page)).status, 200, `${r.kind}: carol has it now`);
      assert.equal((await carol.sse(`${r.page}/events`, { stopWhen: () => true, timeoutMs: 10_000 })).status, 200);
      assert.equal((await bob.get(r.page)).status, 404, `${r.kind}: still nobody else's`);
    }
    // The share links on alice's job and campaign pages open them for yet another browser.
    const dave = new BrowserClient(web.url);
    for (const page of [`/content/${jobId}`, `/emails/${campaignId}`]) {
      const url = /readonly value="(http[^"]+)"/.exec((await alice.get(page)).html)?.[1];
      assert.ok(url && url.includes(`${page}?access=`), `${page} shows a share link`);
      assert.ok(url.startsWith(`${web.url}/`), url);
      assert.equal((await dave.get(url.replaceAll("&amp;", "&").replace(web.url, ""))).status, 303);
      assert.equal((await dave.get(page)).status, 200, `${page}: opened from its share link`);
    }
    assert.equal((await dave.get(`/orders/${orderId}`)).status, 404, "a share link opens its own resource only");

    // The claim stays with alice: carol cannot take the id over by submitting it.
    const res = await carol.postForm("/orders", {
      _csrf: await f.tokenOf(carol),
      orderId,
      email: "carol@security.example",
      paymentMethod: "pm_card_visa",
      "qty[MUG-QUAY]": "1",
    });
    assert.equal(res.status, 409);
    assert.equal((await alice.get(`/orders/${orderId}`)).status, 200);
  });

  it("ids that are not ours, not v7 or not ids at all are 404 too, never 500", async () => {
    const { reads } = resourceRoutes();
    for (const id of [
      uuidv7(),
      "00000000-0000-0000-0000-000000000000",
      "..%2F..%2Fops",
      "%3Cscript%3E",
      f.orderId.toUpperCase(),
    ]) {
      for (const path of reads.flatMap((route) => fillPath(route, { id: () => [id] }))) {
        const res = await f.bob.get(path);
        assert.equal(res.status, 404, `${path}: ${res.status}`);
        assert.ok(!/<script>/i.test(res.html), `${path}: the id is not reflected as markup`);
      }
    }
  });
});
