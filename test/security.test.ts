/**
 * Web security at the HTTP level, against the real stack: token-less POSTs to every state-changing
 * route are refused and write nothing, and so are cross-site ones (Sec-Fetch-Site / Origin) even
 * with a valid token; another session sees 404 for every page,
 * stream and action of someone else's order, job and campaign; every page has a strict CSP and
 * no inline script, style or handler; content and campaign submissions are rate-limited (429 with
 * Retry-After); /ops needs the password; the session cookie is HttpOnly, SameSite=Lax and signed.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { v7 as uuidv7 } from "uuid";
import { createResourceLinks } from "../shared/resource-link.ts";
import { BrowserClient, extract, waitUntil, postOrderForm } from "./helpers/browser-client.ts";
import { startInProcessWeb, type InProcessWeb } from "./helpers/in-process-web.ts";
import { addOperator } from "./helpers/operators.ts";
import { headerProblems, inOneRateWindow, inlineCodeProblems } from "./helpers/security-checks.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";

const OPS_NAME = "sec-op";
const OPS_PASSWORD = "security-test operator password";
const LINK_KEY = "security-test-link-signing-key-0123456789abcdef";
const CSRF_REFUSED = /did not come from this site/;
const CROSS_SITE = /came from another site and was refused/;
/** Markup in user input: every page that echoes it must escape it, so the static checks stay clean. */
const PAYLOAD = `<img src=x onerror="alert(1)"><script>alert(2)</script>"><svg onload=alert(3)>`;

describe("web security", () => {
  let stack: TestStack;
  let web: InProcessWeb;
  let redis: Redis;
  /** The customer who owns everything below; `bob` is another browser; `operator` is signed in to /ops. */
  let alice: BrowserClient;
  let bob: BrowserClient;
  let operator: BrowserClient;
  let orderId = "";
  let jobId = "";
  let campaignId = "";

  const tokenOf = async (client: BrowserClient, path = "/orders/new") => extract((await client.get(path)).html, "_csrf");
  const one = async (sql: string, params: unknown[] = []) =>
    (await stack.db.query(sql, params)).rows[0] as Record<string, unknown>;
  const orderStatus = async (id: string) => (await one("SELECT status FROM orders WHERE id = $1", [id]))?.status;

  async function placeOrder(client: BrowserClient, qty: Record<string, string>, email: string): Promise<string> {
    const res = await postOrderForm(client, { email, quantities: qty });
    assert.equal(res.status, 303, res.html);
    return res.orderId;
  }
  async function startJob(client: BrowserClient, productName: string): Promise<string> {
    const form = await client.get("/content/new");
    const id = extract(form.html, "jobId");
    const res = await client.postForm("/content", [
      ["_csrf", extract(form.html, "_csrf")],
      ["jobId", id],
      ["productName", productName],
      ["details", `Brass, 40 cm ${PAYLOAD}`],
      ["languages", "fr"],
    ]);
    assert.equal(res.status, 303, res.html);
    return id;
  }
  async function startCampaign(client: BrowserClient, subject: string, recipients: string): Promise<string> {
    const form = await client.get("/emails/new");
    const id = extract(form.html, "campaignId");
    const res = await client.postForm("/emails", {
      _csrf: extract(form.html, "_csrf"),
      campaignId: id,
      subject,
      format: "markdown",
      body: `Hello ${PAYLOAD} [x](javascript:alert(4))`,
      recipients,
    });
    assert.equal(res.status, 303, res.html);
    return id;
  }
  async function signIn(client: BrowserClient): Promise<void> {
    const res = await client.postForm("/ops/login", {
      _csrf: await tokenOf(client, "/ops"),
      name: OPS_NAME,
      password: OPS_PASSWORD,
    });
    assert.equal(res.status, 303);
  }

  before(async () => {
    stack = await startTestStack("security", {
      // Two harbour lamps (€178) wait for approval, so the order stays cancellable and approvable for the whole file.
      // One send a second keeps the campaign running while forged stop requests arrive.
      env: { APPROVAL_THRESHOLD_CENTS: "15000", CAMPAIGN_SENDS_PER_SECOND: "1", LINK_SIGNING_KEYS: LINK_KEY },
    });
    await addOperator(stack.env, OPS_NAME, OPS_PASSWORD);
    web = await startInProcessWeb(stack.env);
    redis = new Redis(stack.services.valkeyUrl);
    alice = new BrowserClient(web.url);
    bob = new BrowserClient(web.url);
    operator = new BrowserClient(web.url);
    await bob.get("/");
    orderId = await placeOrder(alice, { "LAMP-HARBOUR": "2" }, "alice@security.example");
    jobId = await startJob(alice, `Lamp ${PAYLOAD}`);
    campaignId = await startCampaign(
      alice,
      `News ${PAYLOAD}`,
      "r1@security.example r2@security.example r3@security.example r4@security.example",
    );
    await signIn(operator);
    await waitUntil("the order to wait for approval", async () => (await orderStatus(orderId)) === "awaiting_approval");
  });
  after(async () => {
    redis?.disconnect();
    await web?.close();
    await stack?.stop();
  });

  it("the markup and header checks catch what they look for (so their empty answers mean something)", () => {
    for (const bad of [
      "<script>alert(1)</script>",
      "<style>p{}</style>",
      '<p style="color:red">',
      "<img src=x onerror=alert(1)>",
      '<svg/onload="alert(1)">',
      '<a href=" jav&#x61;script:alert(1)">',
      '<a href="java\tscript:alert(1)">',
      '<button hx-on:click="alert(1)">',
      '<form action="javascript:alert(1)">',
    ]) {
      assert.notDeepEqual(inlineCodeProblems(bad), [], bad);
    }
    assert.deepEqual(inlineCodeProblems('<script src="/assets/x.js" defer></script><p class="x">one=two onion</p>'), []);
    const weak = new Headers({ "content-security-policy": "default-src 'self'; script-src 'self' 'unsafe-inline'" });
    assert.ok(headerProblems(weak).some((p) => /weak CSP/.test(p)));
    assert.ok(headerProblems(new Headers()).length > 0);
  });

  describe("CSRF: every state-changing route refuses a request without this session's token", () => {
    /** What could be written: rows created by submissions, claims, operator grants, the order's state. */
    async function writes() {
      const counts = await one(
        `SELECT (SELECT count(*) FROM orders) AS orders, (SELECT count(*) FROM content_jobs) AS jobs,
                (SELECT count(*) FROM email_campaigns) AS campaigns,
                (SELECT count(*) FROM campaign_recipients WHERE status = 'cancelled') AS cancelled,
                (SELECT count(*) FROM payments WHERE kind = 'refund') AS refunds,
                (SELECT count(*) FROM stock_movements) AS movements, (SELECT count(*) FROM order_refunds) AS operator_refunds`,
      );
      return {
        ...counts,
        owners: (await redis.keys("owner:*")).sort(),
        operators: (await redis.keys("operator:*")).sort(),
        order: await orderStatus(orderId),
      };
    }

    /** Each route, the session whose cookie a forged request would ride on, and an otherwise valid form. */
    const routes = (): Array<{ path: string; as: BrowserClient; fields: Record<string, string> }> => [
      {
        path: "/orders",
        as: alice,
        fields: { orderId: uuidv7(), email: "forged@security.example", paymentMethod: "pm_card_visa", "qty[MUG-QUAY]": "1" },
      },
      { path: `/orders/${orderId}/cancel`, as: alice, fields: {} },
      { path: "/orders/find", as: alice, fields: { lookupId: uuidv7(), email: "alice@security.example" } },
      { path: "/content", as: alice, fields: { jobId: uuidv7(), productName: "Forged", details: "x" } },
      {
        path: "/emails",
        as: alice,
        fields: { campaignId: uuidv7(), subject: "Forged", format: "text", body: "x", recipients: "f@security.example" },
      },
      { path: `/emails/${campaignId}/cancel`, as: alice, fields: {} },
      { path: "/ops/login", as: alice, fields: { name: OPS_NAME, password: OPS_PASSWORD } },
      { path: "/ops/logout", as: operator, fields: {} },
      { path: `/ops/orders/${orderId}/approve`, as: operator, fields: {} },
      { path: `/ops/orders/${orderId}/reject`, as: operator, fields: {} },
      {
        path: "/ops/stock/MUG-QUAY",
        as: operator,
        fields: { kind: "restock", movementId: uuidv7(), units: "5", reason: "forged" },
      },
      { path: `/ops/orders/${orderId}/cancel`, as: operator, fields: { reason: "forged" } },
      { path: `/ops/orders/${orderId}/refund`, as: operator, fields: { requestId: uuidv7(), reason: "forged" } },
      { path: `/ops/orders/${orderId}/dispatch`, as: operator, fields: {} },
    ];

    it("covers every state-changing route the routers declare", () => {
      const declared = readdirSync(new URL("../web/routes/", import.meta.url))
        .flatMap((f) => [
          ...readFileSync(new URL(`../web/routes/${f}`, import.meta.url), "utf8").matchAll(
            /router\.(post|put|patch|delete)\("([^"]+)"/g,
          ),
        ])
        .map((m) => m[2] ?? "")
        .sort();
      assert.deepEqual(
        declared,
        [
          "/content",
          "/emails",
          "/emails/:id/cancel",
          "/ops/login",
          "/ops/logout",
          "/ops/orders/:id/:action",
          "/ops/orders/:id/cancel",
          "/ops/orders/:id/dispatch",
          "/ops/orders/:id/refund",
          "/ops/stock/:sku",
          "/orders",
          "/orders/:id/cancel",
          "/orders/find",
          // Posted by mail clients, which have no session (RFC 8058): the signed URL is the proof,
          // checked in campaign-web.test.ts (another address's token, a forged one, none: 404).
          "/unsubscribe/:campaignId/:hash",
        ].sort(),
      );
    });

    it("no token, another session's token, a tampered token, or a cross-site request: 403 and nothing written", async () => {
      const before = await writes();
      const bobsToken = await tokenOf(bob);
      const alicesToken = await tokenOf(alice);
      const operatorsToken = await tokenOf(operator);
      const crossSite = {
        origin: "https://evil.example",
        referer: "https://evil.example/attack.html",
        "sec-fetch-site": "cross-site",
        "sec-fetch-mode": "navigate",
        "sec-fetch-dest": "document",
      };
      const sameSite = { ...crossSite, origin: "https://blog.localhost", "sec-fetch-site": "same-site" };
      const oldBrowser = { origin: "https://evil.example", referer: "https://evil.example/attack.html" };
      for (const r of routes()) {
        const own = r.as === operator ? operatorsToken : alicesToken;
        const tampered = `${own.slice(0, -1)}${own.endsWith("A") ? "B" : "A"}`;
        const attempts: Array<[string, Record<string, string>, Record<string, string>]> = [
          ["no token", r.fields, {}],
          ["an empty token", { ...r.fields, _csrf: "" }, {}],
          ["another session's token", { ...r.fields, _csrf: bobsToken }, {}],
          ["another session's token as a header", r.fields, { "x-csrf-token": bobsToken }],
          ["a tampered token", { ...r.fields, _csrf: tampered }, {}],
        ];
        for (const [what, fields, headers] of attempts) {
          const res = await r.as.postForm(r.path, fields, headers);
          assert.equal(res.status, 403, `${r.path} with ${what}: ${res.status}`);
          assert.match(res.html, CSRF_REFUSED, `${r.path} with ${what} is refused for its CSRF token`);
          assert.deepEqual(headerProblems(res.res.headers), [], `${r.path} 403 page headers`);
        }
        // The second line: a request another site's page made is refused whatever token it carries,
        // even the session's own (as if the token had leaked), so nothing here reaches the CSRF check.
        const crossSiteAttempts: Array<[string, Record<string, string>, Record<string, string>]> = [
          ["a cross-site POST without a token", r.fields, crossSite],
          ["a cross-site POST with another session's token", { ...r.fields, _csrf: bobsToken }, crossSite],
          ["a cross-site POST with the session's own token", { ...r.fields, _csrf: own }, crossSite],
          ["a sibling subdomain's POST with the own token", { ...r.fields, _csrf: own }, sameSite],
          ["an old browser's cross-site POST (Origin only) with the own token", { ...r.fields, _csrf: own }, oldBrowser],
          ["a sandboxed frame's POST (Origin: null) with the own token", { ...r.fields, _csrf: own }, { origin: "null" }],
        ];
        for (const [what, fields, headers] of crossSiteAttempts) {
          const res = await r.as.postForm(r.path, fields, headers);
          assert.equal(res.status, 403, `${r.path} with ${what}: ${res.status}`);
          assert.match(res.html, CROSS_SITE, `${r.path} with ${what} is refused as cross-site`);
          assert.deepEqual(headerProblems(res.res.headers), [], `${r.path} 403 page headers`);
        }
        // The htmx flavour of the same forgery.
        const hx = await r.as.postForm(r.path, r.fields, { "hx-request": "true", ...crossSite });
        assert.equal(hx.status, 403, `${r.path} as htmx`);
        assert.equal(hx.res.headers.get("hx-redirect"), null);
      }
      // Forged stops and cancels had their chance while the campaign was sending and the order waiting;
      // what they could have changed is judged once the campaign has finished.
      assert.match((await alice.get("/ops")).html, /Operator sign-in/, "the forged sign-in did not make alice an operator");
      assert.match((await operator.get("/ops")).html, /Awaiting approval/, "the forged sign-out did not sign the operator out");
      await waitUntil(
        "the campaign to finish",
        async () => (await one("SELECT status FROM email_campaigns WHERE id = $1", [campaignId]))?.status === "completed",
      );
      assert.deepEqual(await writes(), before, "nothing was written by any refused request");
      assert.ok(
        !stack.services.mail.messages.some((m) => m.subject === "Your Quayside orders"),
        "no forged order lookup sent an email",
      );
      assert.equal(
        Number(
          (await one("SELECT count(*) AS n FROM campaign_recipients WHERE campaign_id = $1 AND status = 'sent'", [campaignId])).n,
        ),
        4,
        "every recipient got the campaign: the forged stop did nothing",
      );
    });

    it("with the session's own token the same request gets past the check (the 403s above are CSRF, not routing)", async () => {
      const res = await alice.postForm("/ops/login", {
        _csrf: await tokenOf(alice),
        name: OPS_NAME,
        password: "not the password",
      });
      assert.equal(res.status, 401);
    });

    it("same-origin browsers, typed URLs, old browsers and clients without the headers get past the Origin check", async () => {
      const origin = new URL(web.url).origin;
      for (const [who, headers] of [
        ["a same-origin form", { origin, "sec-fetch-site": "same-origin", "sec-fetch-mode": "navigate" }],
        [
          "a same-origin htmx request",
          { origin, "sec-fetch-site": "same-origin", "sec-fetch-mode": "cors", "hx-request": "true" },
        ],
        ["a user-initiated request", { "sec-fetch-site": "none" }],
        ["an old browser on this site (Origin only)", { origin }],
        ["a client that sends neither header", {}],
      ] as const) {
        // Bob's own token on alice's order: past both checks, the route answers 404 (not his), and writes nothing.
        const res = await bob.postForm(`/orders/${orderId}/cancel`, { _csrf: await tokenOf(bob) }, headers);
        assert.equal(res.status, 404, `${who}: reaches the route, ${res.status}`);
      }
    });
  });

  describe("ownership: another session gets 404 for someone else's order, job and campaign", () => {
    it("pages, streams and actions: 404 for bob (and for the operator's, but for reading the order), 200 for alice", async () => {
      const bobsToken = await tokenOf(bob);
      const operatorsToken = await tokenOf(operator);
      const pages = [`/orders/${orderId}`, `/content/${jobId}`, `/emails/${campaignId}`];
      const streams = [`/orders/${orderId}/events`, `/content/${jobId}/events`, `/emails/${campaignId}/events`];
      const actions = [`/orders/${orderId}/cancel`, `/emails/${campaignId}/cancel`];
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
      const own = await placeOrder(alice, { "LAMP-HARBOUR": "2" }, "alice@security.example");
      await waitUntil("her order to wait for approval", async () => (await orderStatus(own)) === "awaiting_approval");
      const cancel = await alice.postForm(`/orders/${own}/cancel`, { _csrf: await tokenOf(alice) });
      assert.equal(cancel.status, 303);
      assert.equal(cancel.res.headers.get("location"), `/orders/${own}?cancel=requested`);
      await waitUntil("her order to be cancelled", async () => (await orderStatus(own)) === "cancelled");
    });

    it("signed links: a tampered, expired, wrong-kind or other resource's token is 404; a valid one grants that resource only", async () => {
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
        _csrf: await tokenOf(carol),
        orderId,
        email: "carol@security.example",
        paymentMethod: "pm_card_visa",
        "qty[MUG-QUAY]": "1",
      });
      assert.equal(res.status, 409);
      assert.equal((await alice.get(`/orders/${orderId}`)).status, 200);
    });

    it("ids that are not ours, not v7 or not ids at all are 404 too, never 500", async () => {
      for (const id of [
        uuidv7(),
        "00000000-0000-0000-0000-000000000000",
        "..%2F..%2Fops",
        "%3Cscript%3E",
        orderId.toUpperCase(),
      ]) {
        for (const path of [`/orders/${id}`, `/content/${id}`, `/emails/${id}`, `/orders/${id}/events`, `/emails/${id}/events`]) {
          const res = await bob.get(path);
          assert.equal(res.status, 404, `${path}: ${res.status}`);
          assert.ok(!/<script>/i.test(res.html), `${path}: the id is not reflected as markup`);
        }
      }
    });
  });

  describe("CSP and markup", () => {
    it("every page has a strict CSP and no inline script, style, handler or javascript: URL, even with markup in the input", async () => {
      const pages: Array<[string, BrowserClient, string]> = [
        ["/", alice, "catalog"],
        ["/orders/new", alice, "order form"],
        ["/orders", alice, "my orders"],
        ["/orders/find", alice, "order lookup form"],
        ["/orders/find?sent=1", alice, "order lookup sent"],
        [`/orders/${orderId}`, alice, "order page"],
        ["/content/new", alice, "content form"],
        ["/content", alice, "my jobs"],
        [`/content/${jobId}`, alice, "job page"],
        ["/emails/new", alice, "campaign form"],
        ["/emails", alice, "my campaigns"],
        [`/emails/${campaignId}`, alice, "campaign page"],
        ["/ops", alice, "ops sign-in"],
        ["/ops", operator, "ops dashboard"],
        ["/ops?done=approve", operator, "ops dashboard with a notice"],
        ["/ops?status=cancelled&q=alice%40security.example", operator, "ops order search"],
        ["/ops/overview", operator, "ops overview (inline SVG charts)"],
        [`/orders/${orderId}?cancel=requested`, alice, "order page with a notice"],
        ["/no-such-page", alice, "404 page"],
        [`/orders/${uuidv7()}`, alice, "404 for an unknown order"],
      ];
      await waitUntil(
        "the job to complete",
        async () => (await one("SELECT status FROM content_jobs WHERE id = $1", [jobId]))?.status === "completed",
      );
      for (const [path, client, name] of pages) {
        for (const headers of [{}, { "hx-request": "true" }, { "hx-request": "true", "hx-boosted": "true" }] as Array<
          Record<string, string>
        >) {
          const res = await client.get(path, headers);
          const what = `${name} (${path}${headers["hx-request"] ? ", htmx" : ""})`;
          assert.ok([200, 404].includes(res.status), `${what}: ${res.status}`);
          assert.match(res.res.headers.get("content-type") ?? "", /^text\/html/, what);
          assert.deepEqual(headerProblems(res.res.headers), [], what);
          assert.deepEqual(inlineCodeProblems(res.html), [], what);
        }
      }
      const stored = (await alice.get(`/content/${jobId}`)).html;
      assert.ok(stored.includes("Lamp &lt;img src=x onerror=&quot;alert(1)&quot;&gt;"), "the product name is shown, escaped");

      const csrf = await tokenOf(alice);
      const rejected: Array<[string, Record<string, string> | Array<[string, string]>]> = [
        ["/orders", { _csrf: csrf, orderId: uuidv7(), email: PAYLOAD, paymentMethod: PAYLOAD, [`qty[${PAYLOAD}]`]: PAYLOAD }],
        [
          "/content",
          [
            ["_csrf", csrf],
            ["jobId", PAYLOAD],
            ["productName", PAYLOAD],
            ["details", `</textarea>${PAYLOAD}`],
            ["languages", PAYLOAD],
          ],
        ],
        [
          "/emails",
          {
            _csrf: csrf,
            campaignId: uuidv7(),
            subject: `${PAYLOAD}\nSecond line`,
            format: PAYLOAD,
            body: `</textarea>${PAYLOAD} [x](javascript:alert(5))`,
            recipients: `ok@security.example, <img/src=x/onerror=alert(6)>, "><svg/onload=alert(7)>`,
          },
        ],
        ["/ops/login", { _csrf: csrf, password: PAYLOAD }],
        ["/orders/find", { _csrf: csrf, lookupId: PAYLOAD, email: PAYLOAD }],
      ];
      for (const [path, fields] of rejected) {
        const res = await alice.postForm(path, fields);
        assert.ok([401, 422].includes(res.status), `${path}: ${res.status}`);
        assert.deepEqual(headerProblems(res.res.headers), [], `${path} ${res.status}`);
        assert.deepEqual(inlineCodeProblems(res.html), [], `${path} ${res.status} re-render`);
        assert.ok(!res.html.includes("<img") && !res.html.includes("<svg"), `${path}: no markup from the input`);
      }
    });

    it("every SSE frame carries markup without inline script, style or handlers", async () => {
      const streams = [`/orders/${orderId}/events`, `/content/${jobId}/events`, `/emails/${campaignId}/events`];
      for (const path of streams) {
        const res = await alice.sse(path, { lastEventId: "0", timeoutMs: 5_000 });
        assert.equal(res.status, 200, path);
        assert.ok(res.events.length > 0, path);
        for (const e of res.events) assert.deepEqual(inlineCodeProblems(e.data), [], `${path} event ${e.event} #${e.id}`);
        assert.ok(!res.events.some((e) => /<img|<svg|<script>/.test(e.data)), `${path}: no markup from the input`);
      }
      // The operator's stream: the overview's SVG is ours, drawn with presentation attributes only.
      const ops = await operator.sse("/ops/events", { stopWhen: (_e, all) => all.length === 3, timeoutMs: 5_000 });
      assert.equal(ops.status, 200);
      assert.deepEqual(
        ops.events.map((e) => e.event),
        ["approvals", "overview", "orders-newest"],
      );
      for (const e of ops.events) assert.deepEqual(inlineCodeProblems(e.data), [], `/ops/events event ${e.event}`);
      assert.ok(!ops.events.some((e) => /<img|<script>/.test(e.data)), "/ops/events: no markup from the input");
    });

    it("static assets are served as what they are, with nosniff", async () => {
      const page = (await alice.get("/")).html;
      const urls = [...page.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1] ?? "");
      assert.ok(urls.length >= 3, urls.join(", "));
      for (const url of urls) {
        const res = await alice.get(url);
        assert.equal(res.status, 200, url);
        assert.equal(res.res.headers.get("x-content-type-options"), "nosniff", url);
        const type = res.res.headers.get("content-type") ?? "";
        if (url.endsWith(".js")) assert.match(type, /^text\/javascript/, url);
        if (url.endsWith(".css")) assert.match(type, /^text\/css/, url);
        if (url.endsWith(".svg")) assert.match(type, /^image\/svg\+xml/, url);
      }
    });

    it("query-string notices only show known messages (no lookup of Object.prototype keys)", async () => {
      for (const key of ["constructor", "toString", "__proto__", "hasOwnProperty"]) {
        const ops = await operator.get(`/ops?done=${key}`);
        assert.doesNotMatch(ops.html, /native code|class="notice"/, `/ops?done=${key}`);
        const order = await alice.get(`/orders/${orderId}?cancel=${key}`);
        assert.doesNotMatch(order.html, /native code|class="notice"/, `?cancel=${key}`);
      }
    });
  });

  describe("rate limits", () => {
    // ops-page.test.ts proves the sign-in limit and the order limit; these are the content and campaign limits.
    it("content submissions: 429 with a numeric Retry-After past the limit, and nothing started", async () => {
      const strict = await startInProcessWeb({ ...stack.env, ORDER_RATE_LIMIT_PER_MINUTE: "2" });
      try {
        const { res, third } = await inOneRateWindow(async () => {
          const client = new BrowserClient(strict.url);
          await startJob(client, "Allowed one");
          await startJob(client, "Allowed two");
          const form = await client.get("/content/new");
          const third = extract(form.html, "jobId");
          const res = await client.postForm("/content", {
            _csrf: extract(form.html, "_csrf"),
            jobId: third,
            productName: "Too many",
            details: "x",
          });
          return { res, third };
        });
        assert.equal(res.status, 429);
        assert.match(res.html, /starting jobs too quickly/);
        const retryAfter = res.res.headers.get("retry-after") ?? "";
        assert.match(retryAfter, /^\d+$/);
        assert.ok(Number(retryAfter) >= 1 && Number(retryAfter) <= 60, retryAfter);
        assert.deepEqual(headerProblems(res.res.headers), []);
        assert.equal(await redis.exists(`owner:content:${third}`), 0, "nothing claimed");
        assert.equal((await one("SELECT count(*) AS n FROM content_jobs WHERE id = $1", [third])).n, "0");
        // The limit is per session (and, ten times higher, per address): another browser may still start a job.
        const fresh = new BrowserClient(strict.url);
        await startJob(fresh, "Another browser");
      } finally {
        await strict.close();
      }
    });

    it("order lookups: 429 with a numeric Retry-After past the per-session limit, and nothing sent", async () => {
      const strict = await startInProcessWeb({ ...stack.env, ORDER_LOOKUP_RATE_LIMIT_PER_MINUTE: "2" });
      try {
        const answers = await inOneRateWindow(async () => {
          const client = new BrowserClient(strict.url);
          const all = [];
          for (let i = 0; i < 3; i++) {
            const form = await client.get("/orders/find");
            all.push(
              await client.postForm("/orders/find", {
                _csrf: extract(form.html, "_csrf"),
                lookupId: extract(form.html, "lookupId"),
                email: `limit-${i}@lookup.security.example`,
              }),
            );
          }
          return all;
        });
        assert.deepEqual(
          answers.map((res) => res.status),
          [303, 303, 429],
        );
        const refused = answers[2]!;
        assert.match(refused.html, /asked for your orders too often/);
        assert.match(refused.res.headers.get("retry-after") ?? "", /^\d+$/);
        assert.deepEqual(headerProblems(refused.res.headers), []);
      } finally {
        await strict.close();
      }
    });

    it("campaign submissions: the 11th in a minute is 429 with a numeric Retry-After, and nothing is sent", async () => {
      const { res, eleventh, run } = await inOneRateWindow(async () => {
        const run = uuidv7().slice(-12); // each run's own recipients
        const client = new BrowserClient(web.url);
        for (let i = 0; i < 10; i++) await startCampaign(client, `Limit ${i}`, `limit-${i}-${run}@security.example`);
        const form = await client.get("/emails/new");
        const eleventh = extract(form.html, "campaignId");
        const res = await client.postForm("/emails", {
          _csrf: extract(form.html, "_csrf"),
          campaignId: eleventh,
          subject: "One too many",
          format: "text",
          body: "x",
          recipients: `eleventh-${run}@security.example`,
        });
        return { res, eleventh, run };
      });
      assert.equal(res.status, 429);
      assert.match(res.html, /starting campaigns too quickly/);
      assert.match(res.res.headers.get("retry-after") ?? "", /^\d+$/);
      assert.ok(Number(res.res.headers.get("retry-after")) >= 1);
      assert.equal(await redis.exists(`owner:campaign:${eleventh}`), 0, "nothing claimed");
      assert.equal((await one("SELECT count(*) AS n FROM email_campaigns WHERE id = $1", [eleventh])).n, "0");
      // The ten allowed campaigns have sent their emails: the refused one, started, would have sent its own among them.
      for (let i = 0; i < 10; i++)
        await waitUntil(`campaign ${i}'s email`, () =>
          stack.services.mail.messages.some((m) => m.envelopeTo.includes(`limit-${i}-${run}@security.example`)),
        );
      assert.ok(!stack.services.mail.messages.some((m) => m.envelopeTo.includes(`eleventh-${run}@security.example`)));
    });
  });

  describe("rate limits behind a proxy (prod)", () => {
    async function signInAttempts(xff: (i: number) => string, n: number): Promise<number[]> {
      const prod = await startInProcessWeb({
        ...stack.env,
        APP_PROFILE: "prod",
        LOG_FORMAT: "json",
        SESSION_SECRET: "a-long-random-production-session-secret-0123456789",
        LOGIN_RATE_LIMIT_PER_MINUTE: "1",
      });
      try {
        // Per address the limit is 10 a minute; a fresh browser (cookie) for each attempt. Scrypt
        // makes each attempt slow on a loaded machine: the run is judged only if it fell inside one minute.
        return await inOneRateWindow(async () => {
          const statuses: number[] = [];
          for (let i = 0; i < n; i++) {
            const proxyHeaders = { "x-forwarded-proto": "https", "x-forwarded-for": xff(i) };
            const client = new BrowserClient(prod.url);
            const csrf = extract((await client.get("/ops", proxyHeaders)).html, "_csrf");
            statuses.push(
              (await client.postForm("/ops/login", { _csrf: csrf, name: OPS_NAME, password: `guess-${i}` }, proxyHeaders)).status,
            );
          }
          return statuses;
        });
      } finally {
        await prod.close();
      }
    }

    it("fresh cookies from one address still meet the per-address sign-in limit", async () => {
      const statuses = await signInAttempts(() => "203.0.113.9", 12);
      assert.deepEqual(statuses, [...Array<number>(10).fill(401), 429, 429]);
    });

    it("a client cannot reset the sign-in limit by dropping its cookie and making up X-Forwarded-For", async () => {
      // The proxy appends the real peer (10.0.0.1); the client wrote everything before it.
      const statuses = await signInAttempts((i) => `198.51.100.${i + 1}, 10.0.0.1`, 15);
      assert.ok(statuses.includes(429), `statuses: ${statuses.join(",")}`);
    });
  });

  describe("operator pages", () => {
    it("without signing in, /ops shows only the sign-in form and every ops action is 403", async () => {
      const stranger = new BrowserClient(web.url);
      for (const path of ["/ops", "/ops?done=approve", "/ops/"]) {
        const page = await stranger.get(path);
        assert.equal(page.status, 200, path);
        assert.match(page.html, /Operator sign-in/, path);
        assert.doesNotMatch(page.html, /Awaiting approval|All orders|alice@security\.example|action="\/ops\/orders/, path);
      }
      const csrf = await tokenOf(stranger, "/ops");
      for (const action of ["approve", "reject"]) {
        const res = await stranger.postForm(`/ops/orders/${orderId}/${action}`, { _csrf: csrf });
        assert.equal(res.status, 403, action);
        assert.match(res.html, /Sign in as an operator first/);
        assert.equal((await stranger.get(`/ops/orders/${orderId}/${action}`)).status >= 400, true, `GET ${action}`);
      }
      for (const path of ["/ops/overview", "/ops/events", "/ops/events?topics=approvals"]) {
        const res = await stranger.get(path, { accept: "text/event-stream, text/html" });
        assert.equal(res.status, 403, path);
        assert.doesNotMatch(res.html, /alice@security\.example|ops-approvals|event: /, path);
      }
      assert.equal(
        (await stranger.postForm("/ops/logout", { _csrf: csrf })).status,
        303,
        "signing out when not signed in is harmless",
      );
      assert.match((await stranger.get("/ops")).html, /Operator sign-in/);
    });

    it("a wrong password or name is 401 with the form again, and the password is never echoed", async () => {
      for (const [name, password] of [
        [OPS_NAME, "ops-dev-password"],
        [OPS_NAME, OPS_PASSWORD.toUpperCase()],
        [OPS_NAME, `${OPS_PASSWORD} `],
        [OPS_NAME, OPS_PASSWORD.slice(0, -1)],
        ["ops", "ops-dev-password"],
        ["someone-else", OPS_PASSWORD],
      ] as const) {
        const stranger = new BrowserClient(web.url); // five sign-in attempts a minute per session
        const res = await stranger.postForm("/ops/login", { _csrf: await tokenOf(stranger, "/ops"), name, password });
        assert.equal(res.status, 401, JSON.stringify([name, password]));
        assert.match(res.html, /Wrong name or password/);
        assert.ok(!res.html.includes(password.trim()), "not echoed");
        assert.doesNotMatch(res.html, /type="password"[^>]*value=/);
      }
      // Missing or malformed fields: 422 with a message per field, still without the password.
      const another = new BrowserClient(web.url);
      const anotherCsrf = await tokenOf(another, "/ops");
      for (const [fields, field] of [
        [{ name: OPS_NAME, password: "" }, "password"],
        [{ name: "", password: OPS_PASSWORD }, "name"],
        [{ name: "a", password: OPS_PASSWORD }, "name"],
        [{ name: OPS_NAME, password: "x".repeat(1025) }, "password"],
        [{ password: OPS_PASSWORD }, "name"],
      ] as const) {
        const res = await another.postForm("/ops/login", { _csrf: anotherCsrf, ...fields });
        assert.equal(res.status, 422, JSON.stringify(fields).slice(0, 80));
        assert.match(res.html, new RegExp(`id="${field}-error"`));
        assert.ok(!res.html.includes(OPS_PASSWORD), "not echoed");
      }
    });

    it("the order list's filter, search and page cursor: bad input is a 4xx with a reason, never a 5xx", async () => {
      const status = String((await one("SELECT status FROM orders WHERE id = $1", [orderId]))?.status);
      const ok = await operator.get(`/ops?status=${status}&q=${encodeURIComponent("Alice@Security.example")}`);
      assert.equal(ok.status, 200);
      assert.match(ok.html, new RegExp(`<tr [^>]*data-order-id="${orderId}"`));
      const byId = await operator.get(`/ops?q=${orderId.slice(0, 13)}`);
      assert.match(byId.html, new RegExp(`<tr [^>]*data-order-id="${orderId}"`));
      const cases: Array<[string, number, RegExp]> = [
        [`/ops?q=${encodeURIComponent(PAYLOAD)}`, 422, /id="q-error"/],
        ["/ops?q=abc", 422, /at least 4 of its characters/],
        [`/ops?q=${"a".repeat(33)}`, 422, /id="q-error"/],
        [`/ops?q=${"a".repeat(300)}@x.example`, 422, /at most 254/],
        ["/ops?q=not-an@", 422, /whole email address/],
        [`/ops?status=${encodeURIComponent(PAYLOAD)}`, 422, /id="status-error">Choose one of the listed statuses/],
        ["/ops?status=constructor", 422, /id="status-error"/],
        ["/ops?status=fulfilled&status=rejected", 422, /id="status-error"/],
        ["/ops?q=a&q=b", 422, /id="q-error"/],
        ["/ops?after=nonsense", 400, /page link is not valid/],
        [`/ops?after=${encodeURIComponent(PAYLOAD)}`, 400, /page link is not valid/],
        [`/ops?after=1.${orderId}&after=2.${orderId}`, 400, /page link is not valid/],
        [`/ops?after=99999999999999999.${orderId}`, 200, /All orders/],
        [`/ops?after=123456789012345678.${orderId}`, 400, /page link is not valid/],
        [`/ops?after=-1.${orderId}`, 400, /page link is not valid/],
        [`/ops?after=1.${orderId.toUpperCase()}`, 400, /page link is not valid/],
        ["/ops?after=1.00000000-0000-0000-0000-000000000000", 200, /No order matches|No orders yet/],
        [`/ops?before=${encodeURIComponent(PAYLOAD)}`, 400, /page link is not valid/],
        [`/ops?before=1.${orderId}&before=2.${orderId}`, 400, /page link is not valid/],
        [`/ops?after=1.${orderId}&before=2.${orderId}`, 400, /page link is not valid/],
        [`/ops?before=1.${orderId}`, 200, /All orders/],
      ];
      for (const [path, status, reason] of cases) {
        for (const headers of [{}, { "hx-request": "true", "hx-boosted": "true" }] as Array<Record<string, string>>) {
          const res = await operator.get(path, headers);
          assert.equal(res.status, status, `${path}: ${res.status}`);
          assert.match(res.html, reason, path);
          assert.deepEqual(headerProblems(res.res.headers), [], path);
          assert.deepEqual(inlineCodeProblems(res.html), [], path);
          assert.ok(!res.html.includes("<img") && !res.html.includes("<svg"), `${path}: no markup from the input`);
        }
      }
      // The same page for someone not signed in is the sign-in form, whatever the query.
      const stranger = new BrowserClient(web.url);
      const page = await stranger.get(`/ops?after=nonsense&q=${encodeURIComponent("alice@security.example")}`);
      assert.equal(page.status, 200);
      assert.match(page.html, /Operator sign-in/);
      assert.doesNotMatch(page.html, /alice@security\.example/);
    });

    it("signing out ends the operator's rights for that session", async () => {
      const op = new BrowserClient(web.url);
      await signIn(op);
      assert.match((await op.get("/ops")).html, /Awaiting approval/);
      assert.equal((await op.postForm("/ops/logout", { _csrf: await tokenOf(op, "/ops") })).status, 303);
      assert.match((await op.get("/ops")).html, /Operator sign-in/);
      assert.equal((await op.get("/ops/overview")).status, 403);
      assert.equal((await op.sse("/ops/events", { timeoutMs: 3_000 })).status, 403);
      const res = await op.postForm(`/ops/orders/${uuidv7()}/approve`, { _csrf: await tokenOf(op, "/ops") });
      assert.equal(res.status, 403);
    });

    it("signing in issues a fresh session id (no session fixation)", async () => {
      const op = new BrowserClient(web.url);
      await op.get("/ops");
      const before = op.sessionId;
      await signIn(op);
      assert.notEqual(op.sessionId, before, "a session cookie planted before sign-in must not become an operator session");
    });
  });

  describe("session cookie", () => {
    it("is HttpOnly, SameSite=Lax, scoped to /, and signed", async () => {
      const res = await fetch(`${web.url}/`);
      const cookies = res.headers.getSetCookie();
      const session = cookies.find((c) => c.startsWith("qs_session="));
      const sig = cookies.find((c) => c.startsWith("qs_session.sig="));
      assert.ok(session && sig, cookies.join(" | "));
      for (const c of [session, sig]) {
        assert.match(c, /;\s*httponly/i);
        assert.match(c, /;\s*samesite=lax/i);
        assert.match(c, /;\s*path=\//i);
        assert.doesNotMatch(c, /;\s*domain=/i, "host-only");
      }
      const sid = /^qs_session=([^;]+)/.exec(session)?.[1] ?? "";
      assert.ok(sid.length >= 22, "at least 128 bits of randomness");
    });

    it("a tampered or unsigned cookie gets a fresh session, never the old one's orders", async () => {
      const cookie = alice.cookieHeader();
      const sid = /qs_session=([^;]+)/.exec(cookie)?.[1] ?? "";
      const sig = /qs_session\.sig=([^;]+)/.exec(cookie)?.[1] ?? "";
      assert.ok(sid && sig);
      const flip = (s: string) => `${s.slice(0, -1)}${s.endsWith("A") ? "B" : "A"}`;
      const forgeries = {
        "the id changed, signature kept": `qs_session=${flip(sid)}; qs_session.sig=${sig}`,
        "the signature changed": `qs_session=${sid}; qs_session.sig=${flip(sig)}`,
        "no signature": `qs_session=${sid}`,
        "bob's signature": `qs_session=${sid}; qs_session.sig=${/qs_session\.sig=([^;]+)/.exec(bob.cookieHeader())?.[1] ?? ""}`,
      };
      for (const [what, header] of Object.entries(forgeries)) {
        const page = await fetch(`${web.url}/orders/${orderId}`, { headers: { cookie: header }, redirect: "manual" });
        assert.equal(page.status, 404, `${what}: alice's order is not shown`);
        const fresh = page.headers.getSetCookie().find((c) => c.startsWith("qs_session="));
        assert.ok(fresh, `${what}: a fresh session cookie is issued`);
        assert.notEqual(/^qs_session=([^;]+)/.exec(fresh)?.[1], sid, what);
        const list = await (await fetch(`${web.url}/orders`, { headers: { cookie: header } })).text();
        assert.ok(!list.includes(orderId), `${what}: my orders does not list alice's order`);
        const csrf = extract(await (await fetch(`${web.url}/orders/new`, { headers: { cookie: header } })).text(), "_csrf");
        assert.notEqual(csrf, await tokenOf(alice), `${what}: not alice's CSRF token`);
      }
      assert.equal((await alice.get(`/orders/${orderId}`)).status, 200, "alice's real cookie still works");
    });

    it("in prod, behind TLS, the cookie is Secure and HSTS is sent", async () => {
      const prod = await startInProcessWeb({
        ...stack.env,
        APP_PROFILE: "prod",
        LOG_FORMAT: "json",
        SESSION_SECRET: "a-long-random-production-session-secret-0123456789",
      });
      try {
        const res = await fetch(`${prod.url}/`, { headers: { "x-forwarded-proto": "https" } });
        assert.equal(res.status, 200);
        const session = res.headers.getSetCookie().find((c) => c.startsWith("qs_session="));
        assert.match(session ?? "", /;\s*secure/i);
        assert.match(res.headers.get("strict-transport-security") ?? "", /max-age=\d{7,}/);
      } finally {
        await prod.close();
      }
    });
  });
});
