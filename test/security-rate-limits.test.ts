/**
 * Rate limits, against the real stack: content submissions, order lookups and campaigns past their
 * limit are a 429 with a numeric Retry-After and start or send nothing; behind the one proxy in
 * prod, the sign-in limit holds per address for fresh cookies and cannot be reset by a made-up
 * X-Forwarded-For.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { v7 as uuidv7 } from "uuid";
import { BrowserClient, extract, waitUntil } from "./helpers/browser-client.ts";
import { startInProcessWeb } from "./helpers/in-process-web.ts";
import { headerProblems, inOneRateWindow } from "./helpers/security-checks.ts";
import { OPS_NAME, startSecurityFixture, type SecurityFixture } from "./helpers/security-fixture.ts";

describe("web security: rate limits", () => {
  let f: SecurityFixture;
  before(async () => {
    f = await startSecurityFixture("security-rate-limits");
  });
  after(async () => {
    await f?.close();
  });

  describe("rate limits", () => {
    // ops-page.test.ts proves the sign-in limit and the order limit; these are the content and campaign limits.
    it("content submissions: 429 with a numeric Retry-After past the limit, and nothing started", async () => {
      const strict = await startInProcessWeb({ ...f.stack.env, ORDER_RATE_LIMIT_PER_MINUTE: "2" });
      try {
        const { res, third } = await inOneRateWindow(async () => {
          const client = new BrowserClient(strict.url);
          await f.startJob(client, "Allowed one");
          await f.startJob(client, "Allowed two");
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
        assert.equal(await f.redis.exists(`owner:content:${third}`), 0, "nothing claimed");
        assert.equal((await f.one("SELECT count(*) AS n FROM content_jobs WHERE id = $1", [third])).n, "0");
        // The limit is per session (and, ten times higher, per address): another browser may still start a job.
        const fresh = new BrowserClient(strict.url);
        await f.startJob(fresh, "Another browser");
      } finally {
        await strict.close();
      }
    });

    it("order lookups: 429 with a numeric Retry-After past the per-session limit, and nothing sent", async () => {
      const strict = await startInProcessWeb({ ...f.stack.env, ORDER_LOOKUP_RATE_LIMIT_PER_MINUTE: "2" });
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
        const client = new BrowserClient(f.web.url);
        for (let i = 0; i < 10; i++) await f.startCampaign(client, `Limit ${i}`, `limit-${i}-${run}@security.example`);
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
      assert.equal(await f.redis.exists(`owner:campaign:${eleventh}`), 0, "nothing claimed");
      assert.equal((await f.one("SELECT count(*) AS n FROM email_campaigns WHERE id = $1", [eleventh])).n, "0");
      // The ten allowed campaigns have sent their emails: the refused one, started, would have sent its own among them.
      for (let i = 0; i < 10; i++)
        await waitUntil(`campaign ${i}'s email`, () =>
          f.stack.services.mail.messages.some((m) => m.envelopeTo.includes(`limit-${i}-${run}@security.example`)),
        );
      assert.ok(!f.stack.services.mail.messages.some((m) => m.envelopeTo.includes(`eleventh-${run}@security.example`)));
    });
  });

  describe("rate limits behind a proxy (prod)", () => {
    async function signInAttempts(xff: (i: number) => string, n: number): Promise<number[]> {
      const prod = await startInProcessWeb({
        ...f.stack.env,
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
});
