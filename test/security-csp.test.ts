/**
 * What pages may contain, against the real stack: every page, error page and 4xx re-render (and
 * every GET route the app's routers declare) has a strict CSP and no inline script, style, handler
 * or `javascript:` URL, even with markup in the input; so has every SSE frame; static assets are
 * served as what they are; query-string notices show known messages only.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { v7 as uuidv7 } from "uuid";
import { isOperatorPath } from "../web/operators/operator-gate.ts";
import { type BrowserClient, waitUntil } from "./helpers/browser-client.ts";
import { routeName } from "./helpers/route-params.ts";
import { headerProblems, inlineCodeProblems } from "./helpers/security-checks.ts";
import { PAYLOAD, startSecurityFixture, type SecurityFixture } from "./helpers/security-fixture.ts";

describe("web security: CSP and markup", () => {
  let f: SecurityFixture;
  before(async () => {
    f = await startSecurityFixture("security-csp");
    await waitUntil(
      "the job to complete",
      async () => (await f.one("SELECT status FROM content_jobs WHERE id = $1", [f.jobId]))?.status === "completed",
    );
  });
  after(async () => {
    await f?.close();
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

  it("every page has a strict CSP and no inline script, style, handler or javascript: URL, even with markup in the input", async () => {
    const { alice, operator, orderId, jobId, campaignId } = f;
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

    const csrf = await f.tokenOf(alice);
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

  it("every GET route the routers declare, filled with alice's resources, answers with the strict headers and no inline code", async () => {
    const reads = f.web.routes().filter((r) => r.method === "GET");
    assert.ok(reads.length >= 20, reads.map(routeName).join(", "));
    const streams: string[] = [];
    for (const route of reads) {
      for (const path of f.pathsOf(route)) {
        const client = isOperatorPath(path) ? f.operator : f.alice;
        const res = await client.request(path, { headers: { accept: "text/html" } });
        if (res.headers.get("content-type")?.startsWith("text/event-stream")) {
          await res.body?.cancel(); // a live stream: its frames are judged below
          streams.push(path);
          continue;
        }
        const what = `${routeName(route)} (${path}): ${res.status}`;
        assert.ok(res.status < 500, what);
        assert.deepEqual(headerProblems(res.headers), [], what);
        assert.deepEqual(inlineCodeProblems(await res.text()), [], what);
      }
    }
    assert.ok(streams.includes(`/orders/${f.orderId}/events`) && streams.includes("/ops/events"), streams.join(", "));
  });

  it("every SSE frame carries markup without inline script, style or handlers", async () => {
    const { alice, operator, orderId, jobId, campaignId } = f;
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
    const page = (await f.alice.get("/")).html;
    const urls = [...page.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1] ?? "");
    assert.ok(urls.length >= 3, urls.join(", "));
    for (const url of urls) {
      const res = await f.alice.get(url);
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
      const ops = await f.operator.get(`/ops?done=${key}`);
      assert.doesNotMatch(ops.html, /native code|class="notice"/, `/ops?done=${key}`);
      const order = await f.alice.get(`/orders/${f.orderId}?cancel=${key}`);
      assert.doesNotMatch(order.html, /native code|class="notice"/, `?cancel=${key}`);
    }
  });
});
