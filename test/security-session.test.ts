/**
 * The session cookie, against the real stack: HttpOnly, SameSite=Lax, host-only and signed; a
 * tampered or unsigned one gets a fresh session and none of the old one's orders; Secure with HSTS
 * in prod behind TLS; and signing in to /ops issues a new session id (no session fixation).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { BrowserClient, extract } from "./helpers/browser-client.ts";
import { startInProcessWeb } from "./helpers/in-process-web.ts";
import { startSecurityFixture, type SecurityFixture } from "./helpers/security-fixture.ts";

describe("web security: the session cookie", () => {
  let f: SecurityFixture;
  before(async () => {
    f = await startSecurityFixture("security-session");
  });
  after(async () => {
    await f?.close();
  });

  it("is HttpOnly, SameSite=Lax, scoped to /, and signed", async () => {
    const res = await fetch(`${f.web.url}/`);
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
    const { alice, bob, orderId } = f;
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
      const page = await fetch(`${f.web.url}/orders/${orderId}`, { headers: { cookie: header }, redirect: "manual" });
      assert.equal(page.status, 404, `${what}: alice's order is not shown`);
      const fresh = page.headers.getSetCookie().find((c) => c.startsWith("qs_session="));
      assert.ok(fresh, `${what}: a fresh session cookie is issued`);
      assert.notEqual(/^qs_session=([^;]+)/.exec(fresh)?.[1], sid, what);
      const list = await (await fetch(`${f.web.url}/orders`, { headers: { cookie: header } })).text();
      assert.ok(!list.includes(orderId), `${what}: my orders does not list alice's order`);
      const csrf = extract(await (await fetch(`${f.web.url}/orders/new`, { headers: { cookie: header } })).text(), "_csrf");
      assert.notEqual(csrf, await f.tokenOf(alice), `${what}: not alice's CSRF token`);
    }
    assert.equal((await alice.get(`/orders/${orderId}`)).status, 200, "alice's real cookie still works");
  });

  it("in prod, behind TLS, the cookie is Secure and HSTS is sent", async () => {
    const prod = await startInProcessWeb({
      ...f.stack.env,
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

  it("signing in issues a fresh session id (no session fixation)", async () => {
    const op = new BrowserClient(f.web.url);
    await op.get("/ops");
    const before = op.sessionId;
    await f.signIn(op);
    assert.notEqual(op.sessionId, before, "a session cookie planted before sign-in must not become an operator session");
  });
});
