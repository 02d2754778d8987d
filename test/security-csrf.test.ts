/**
 * Forged writes, against the real stack: every state-changing route the app's routers declare
 * (read from the routers, so a route added tomorrow is tried too) refuses a POST without this
 * session's CSRF token, and one another site's page made (Sec-Fetch-Site / Origin) even with the
 * session's own token, and nothing is written; same-origin, typed and header-less requests pass.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { isOperatorPath } from "../web/operators/operator-gate.ts";
import type { RegisteredRoute } from "../web/route-list.ts";
import { waitUntil } from "./helpers/browser-client.ts";
import { fillPath, routeName, unknownParams } from "./helpers/route-params.ts";
import { headerProblems } from "./helpers/security-checks.ts";
import { OPS_NAME, startSecurityFixture, type SecurityFixture } from "./helpers/security-fixture.ts";

const CSRF_REFUSED = /did not come from this site/;
const CROSS_SITE = /came from another site and was refused/;
const READS = new Set(["GET", "HEAD", "OPTIONS"]);
/**
 * Posted by mail clients, which have no session (RFC 8058): the signed URL is the proof, checked in
 * campaign-web.test.ts (another address's token, a forged one, none: 404). Stripe's webhook route
 * would be another, but it is mounted only with webhook secrets, which this stack has none of.
 */
const CROSS_SITE_BY_DESIGN = new Set(["POST /unsubscribe/:campaignId/:hash"]);
/** State-changing routes the routers must be found to declare: proof that they are read at all. */
const KNOWN_WRITES = [
  "POST /content",
  "POST /emails",
  "POST /emails/:id/cancel",
  "POST /ops/login",
  "POST /ops/logout",
  "POST /ops/orders/:id/approve",
  "POST /ops/orders/:id/reject",
  "POST /ops/orders/:id/cancel",
  "POST /ops/orders/:id/dispatch",
  "POST /ops/orders/:id/refund",
  "POST /ops/stock/:sku",
  "POST /orders",
  "POST /orders/:id/cancel",
  "POST /orders/find",
];

describe("web security: CSRF and cross-site writes", () => {
  let f: SecurityFixture;
  before(async () => {
    f = await startSecurityFixture("security-csrf");
  });
  after(async () => {
    await f?.close();
  });

  const writeRoutes = (): RegisteredRoute[] => f.web.routes().filter((r) => !READS.has(r.method));
  /**
   * The session a forged request would ride on: an operator's for the console, but a customer's
   * for signing in (a forged sign-in would make her an operator).
   */
  const victimOf = (route: RegisteredRoute) => (isOperatorPath(route.path) && route.path !== "/ops/login" ? f.operator : f.alice);

  it("reads the state-changing routes from the routers, and every parameter of every route has a value to fill it with", () => {
    const declared = writeRoutes().map(routeName);
    assert.deepEqual(
      KNOWN_WRITES.filter((known) => !declared.includes(known)),
      [],
      `read from the routers: ${declared.join(", ")}`,
    );
    for (const exempt of CROSS_SITE_BY_DESIGN) assert.ok(declared.includes(exempt), `${exempt} is still a route`);
    assert.deepEqual(unknownParams(f.web.routes(), f.params), []);
    // A route whose parameter the table does not know is an error, not a route left out.
    assert.throws(() => fillPath({ method: "POST", path: "/things/:thing", params: ["thing"] }, f.params), /no value for :thing/);
  });

  it("no token, another session's token, a tampered token, or a cross-site request: 403 and nothing written", async () => {
    const { alice, bob, operator, stack, campaignId } = f;
    const before = await f.writes();
    const bobsToken = await f.tokenOf(bob);
    const alicesToken = await f.tokenOf(alice);
    const operatorsToken = await f.tokenOf(operator);
    const crossSite = {
      origin: "https://evil.example",
      referer: "https://evil.example/attack.html",
      "sec-fetch-site": "cross-site",
      "sec-fetch-mode": "navigate",
      "sec-fetch-dest": "document",
    };
    const sameSite = { ...crossSite, origin: "https://blog.localhost", "sec-fetch-site": "same-site" };
    const oldBrowser = { origin: "https://evil.example", referer: "https://evil.example/attack.html" };
    const routes = writeRoutes()
      .filter((route) => !CROSS_SITE_BY_DESIGN.has(routeName(route)))
      .flatMap((route) => f.pathsOf(route).map((path) => ({ path, as: victimOf(route), fields: f.formFor(route) })));
    for (const r of routes) {
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
      async () => (await f.one("SELECT status FROM email_campaigns WHERE id = $1", [campaignId]))?.status === "completed",
    );
    assert.deepEqual(await f.writes(), before, "nothing was written by any refused request");
    assert.ok(
      !stack.services.mail.messages.some((m) => m.subject === "Your Quayside orders"),
      "no forged order lookup sent an email",
    );
    assert.equal(
      Number(
        (await f.one("SELECT count(*) AS n FROM campaign_recipients WHERE campaign_id = $1 AND status = 'sent'", [campaignId])).n,
      ),
      4,
      "every recipient got the campaign: the forged stop did nothing",
    );
  });

  it("with the session's own token the same request gets past the check (the 403s above are CSRF, not routing)", async () => {
    const res = await f.alice.postForm("/ops/login", {
      _csrf: await f.tokenOf(f.alice),
      name: OPS_NAME,
      password: "not the password",
    });
    assert.equal(res.status, 401);
  });

  it("same-origin browsers, typed URLs, old browsers and clients without the headers get past the Origin check", async () => {
    const origin = new URL(f.web.url).origin;
    for (const [who, headers] of [
      ["a same-origin form", { origin, "sec-fetch-site": "same-origin", "sec-fetch-mode": "navigate" }],
      ["a same-origin htmx request", { origin, "sec-fetch-site": "same-origin", "sec-fetch-mode": "cors", "hx-request": "true" }],
      ["a user-initiated request", { "sec-fetch-site": "none" }],
      ["an old browser on this site (Origin only)", { origin }],
      ["a client that sends neither header", {}],
    ] as const) {
      // Bob's own token on alice's order: past both checks, the route answers 404 (not his), and writes nothing.
      const res = await f.bob.postForm(`/orders/${f.orderId}/cancel`, { _csrf: await f.tokenOf(f.bob) }, headers);
      assert.equal(res.status, 404, `${who}: reaches the route, ${res.status}`);
    }
  });
});
