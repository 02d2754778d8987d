/**
 * Hostile and malformed input, generated: wrong types, missing fields, huge and deeply nested
 * bodies, unicode edge cases, absurd quantities, unknown SKUs, forged ids, bad Last-Event-ID.
 * Every answer is a clear 4xx (never a 5xx), nothing is written, and the process stays healthy.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { v7 as uuidv7 } from "uuid";
import { BrowserClient, extract } from "./helpers/browser-client.ts";
import { startInProcessWeb, type InProcessWeb } from "./helpers/in-process-web.ts";
import { addOperator } from "./helpers/operators.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";

const RUNS = Number(process.env.FUZZ_RUNS ?? 60);

/** Strings people and attackers type: unicode edge cases, markup, SQL, control characters, long runs. */
const nasty = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom(
    "",
    " ",
    "\u0000",
    "\uFEFF",
    "\u202E",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "%00",
    "../../etc/passwd",
    "\r\nid: 9",
  ),
  fc.integer().map(String),
  fc.double().map(String),
  fc.constantFrom("-1", "0", "1e9", "NaN", "Infinity", "99999999999", "1.5", "0x10"),
  fc.nat({ max: 3000 }).map((n) => "x".repeat(n)),
);

/** An id that is never a valid v7 UUID, so no generated submission can be a real one. */
const forgedId = fc.oneof(
  nasty,
  fc.uuid({ version: 4 }),
  fc.constantFrom("00000000-0000-0000-0000-000000000000", "../admin", "01a1fcb6-a627-7126-a4b4-821b5f62877"),
);

describe("hostile input", () => {
  let stack: TestStack;
  let web: InProcessWeb;
  let client: BrowserClient;
  let csrf = "";

  before(async () => {
    // Limits far above what the runs send, so that every fuzzed submission reaches the validation
    // it is meant to test (a 429 here would prove nothing about the input); campaigns, limited to 10
    // a minute per session, are submitted from a fresh session each time.
    stack = await startTestStack("fuzz", {
      env: {
        ORDER_RATE_LIMIT_PER_MINUTE: "100000",
        LOGIN_RATE_LIMIT_PER_MINUTE: "100000",
        ORDER_LOOKUP_RATE_LIMIT_PER_MINUTE: "100000",
      },
    });
    web = await startInProcessWeb(stack.env);
    client = new BrowserClient(web.url);
    csrf = extract((await client.get("/orders/new")).html, "_csrf");
  });
  after(async () => {
    await web?.close();
    await stack?.stop();
  });

  const rows = async () =>
    (
      await stack.db.query(
        `SELECT (SELECT count(*) FROM orders) + (SELECT count(*) FROM content_jobs) + (SELECT count(*) FROM email_campaigns)
              + (SELECT count(*) FROM emails) AS n`,
      )
    ).rows[0].n as string;

  function assertClear4xx(status: number, html: string, what: string): void {
    assert.ok(status >= 400 && status < 500, `${what}: got ${status}`);
    assert.notEqual(status, 429, `${what}: a rate limit answered, not the validation`);
    assert.ok(html.length > 0, `${what}: the ${status} says why`);
  }

  it("form submissions of every kind get a 4xx with a reason and write nothing", async () => {
    const before = await rows();
    const submission = fc.record({
      path: fc.constantFrom("/orders", "/content", "/emails", "/orders/find"),
      fields: fc.dictionary(
        fc.oneof(
          fc.constantFrom(
            "email",
            "paymentMethod",
            "productName",
            "details",
            "languages",
            "subject",
            "body",
            "format",
            "recipients",
          ),
          fc.constantFrom("MUG-QUAY", "NOPE-1", "mug-quay", "A".repeat(40), "]", "[").map((sku) => `qty[${sku}]`),
          nasty,
        ),
        nasty,
        { maxKeys: 12 },
      ),
      id: forgedId,
    });
    await fc.assert(
      fc.asyncProperty(submission, async ({ path, fields, id }) => {
        const idField = { "/orders": "orderId", "/content": "jobId", "/emails": "campaignId", "/orders/find": "lookupId" }[path];
        const from = path === "/emails" ? new BrowserClient(web.url) : client;
        const token = from === client ? csrf : extract((await from.get("/orders/new")).html, "_csrf");
        const res = await from.postForm(path, { ...fields, _csrf: token, [idField]: id });
        assertClear4xx(res.status, res.html, `POST ${path}`);
      }),
      { numRuns: RUNS },
    );
    assert.equal(await rows(), before, "no row was written");
    assert.deepEqual(stack.services.mail.messages, [], "no email was sent");
  });

  it("forged, mangled and misplaced link tokens never open anything: always 404, never a 5xx", async () => {
    const token = fc.oneof(
      nasty,
      fc.tuple(fc.nat(), fc.base64String({ minLength: 40, maxLength: 48 })).map(([n, b]) => `${n.toString(36)}.${b}`),
      fc.constantFrom(".", "0.", "zzzzzzzzzzzzzzzzzz.AAAA", `${"9".repeat(400)}.x`, "ZZZZZZZZZZZ.".padEnd(55, "A")),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("orders", "content", "emails"),
        fc.oneof(
          forgedId.filter((id) => id !== ""),
          fc.constant(null),
        ),
        token,
        async (kind, forged, value) => {
          // A well-formed id nobody here owns, or a forged one.
          const id = encodeURIComponent(forged ?? uuidv7());
          const res = await client.get(`/${kind}/${id}?access=${encodeURIComponent(value)}`);
          assert.ok([400, 404].includes(res.status), `GET /${kind}/${id}?access=…: ${res.status}`);
          assert.equal(res.res.headers.get("location"), null, "nothing redirects to a page it does not grant");
          const twice = await client.get(
            `/${kind}/${id}?access=${encodeURIComponent(value)}&access=${encodeURIComponent(value)}`,
          );
          assert.ok([400, 404].includes(twice.status), `repeated access: ${twice.status}`);
        },
      ),
      { numRuns: RUNS },
    );
    assert.deepEqual((await client.get("/orders")).html.match(/data-order-id/g) ?? [], [], "My orders is still empty");
  });

  it("forged ids on pages, streams and actions are 4xx, whatever Last-Event-ID comes with them", async () => {
    await fc.assert(
      fc.asyncProperty(
        forgedId.filter((id) => id !== ""),
        fc.constantFrom("orders", "content", "emails"),
        nasty,
        async (id, kind, lastEventId) => {
          const safe = encodeURIComponent(id);
          const page = await client.get(`/${kind}/${safe}`);
          assert.ok([400, 404].includes(page.status), `GET /${kind}/${id}: ${page.status}`);
          const events = await client.request(`/${kind}/${safe}/events`, {
            headers: { "last-event-id": lastEventId.replace(/[^\x20-\x7e]/g, "?") },
          });
          await events.body?.cancel();
          assert.ok(events.status >= 400 && events.status < 500, `events ${events.status}`);
          const action = await client.postForm(`/${kind === "content" ? "orders" : kind}/${safe}/cancel`, { _csrf: csrf });
          assert.ok([400, 404].includes(action.status), `cancel: ${action.status}`);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("operator sign-in fields and the order list's filter, search and cursor: 4xx with a reason or a page, never a 5xx", async () => {
    await addOperator(stack.env, "fuzz-op", "fuzz operator password");
    const operator = new BrowserClient(web.url);
    const signIn = await operator.postForm("/ops/login", {
      _csrf: extract((await operator.get("/ops")).html, "_csrf"),
      name: "fuzz-op",
      password: "fuzz operator password",
    });
    assert.equal(signIn.status, 303);
    const cursor = fc.oneof(
      nasty,
      fc.tuple(fc.bigInt({ min: -1n, max: 10n ** 18n }), forgedId).map(([n, id]) => `${n}.${id}`),
      fc.tuple(fc.nat(), fc.uuid({ version: 7 })).map(([n, id]) => `${n}.${id}`),
    );
    const search = fc.oneof(
      nasty,
      fc.string({ unit: fc.constantFrom(..."0123456789abcdef-"), maxLength: 40 }),
      fc.emailAddress(),
      fc.uuid({ version: 7 }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.option(fc.oneof(nasty, fc.constantFrom("fulfilled", "awaiting_approval", "__proto__"))),
        fc.option(search),
        fc.option(cursor),
        fc.option(cursor),
        async (status, q, after, before) => {
          const params = new URLSearchParams();
          if (status !== null) params.set("status", status);
          if (q !== null) params.set("q", q);
          if (after !== null) params.set("after", after);
          if (before !== null) params.set("before", before);
          const res = await operator.get(`/ops?${params.toString()}`);
          assert.ok([200, 400, 422].includes(res.status), `GET /ops?${params.toString()}: ${res.status}`);
          if (res.status === 422) assert.match(res.html, /class="field-error"/, "422 names the field");
          if (res.status === 400) assert.match(res.html, /page link is not valid/, "400 says why");
        },
      ),
      { numRuns: RUNS },
    );
    await fc.assert(
      fc.asyncProperty(nasty, nasty, async (name, password) => {
        const stranger = new BrowserClient(web.url);
        const csrfToken = extract((await stranger.get("/ops")).html, "_csrf");
        const res = await stranger.postForm("/ops/login", { _csrf: csrfToken, name, password });
        assertClear4xx(res.status, res.html, "POST /ops/login");
        assert.ok([401, 413, 422].includes(res.status), `POST /ops/login: ${res.status}`);
      }),
      { numRuns: RUNS },
    );
    assert.match((await operator.get("/ops")).html, /Signed in as/, "still signed in; the process is healthy");
  });

  it("huge, deeply nested and mistyped bodies and oversized headers are refused without a 5xx", async () => {
    const nested = `${"a[".repeat(5000)}x${"]".repeat(5000)}=1&_csrf=${csrf}`;
    for (const [what, init] of [
      [
        "a deeply nested body",
        { method: "POST", body: nested, headers: { "content-type": "application/x-www-form-urlencoded" } },
      ],
      [
        "a 5 MB body",
        { method: "POST", body: "x=".padEnd(5_000_000, "y"), headers: { "content-type": "application/x-www-form-urlencoded" } },
      ],
      ["JSON", { method: "POST", body: JSON.stringify({ email: { $ne: 1 } }), headers: { "content-type": "application/json" } }],
      [
        "a multipart body",
        { method: "POST", body: "--b\r\n\r\n", headers: { "content-type": "multipart/form-data; boundary=b" } },
      ],
      // Over Node's 16 KB limit, small enough that the server has read all of it when it answers.
      ["a 20 KB header", { method: "GET", headers: { "x-big": "h".repeat(20 * 1024) } }],
      ["an unknown method", { method: "PATCH", body: "", headers: {} }],
    ] as const) {
      // An answer, not a dropped connection: a reset is no "clear 4xx".
      const res = await client.request("/orders", init);
      await res.body?.cancel();
      assert.ok(res.status >= 400 && res.status < 500, `${what}: got ${res.status}`);
    }
    assert.equal((await client.get("/live")).status, 200, "the process is still healthy");
    assert.equal((await client.get("/ready")).status, 200);
  });
});
