/**
 * APP_PROFILE=prod refuses every unsafe default, naming it, unless an explicit ALLOW_… flag
 * acknowledges it; dev accepts them.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { ConfigError, loadConfig } from "../../shared/config.ts";
import { webConfigSchema } from "../../shared/web-config.schema.ts";
import { workerConfigSchema } from "../../shared/worker-config.schema.ts";

const SAFE_WEB = {
  APP_PROFILE: "prod",
  SESSION_SECRET: "s".repeat(40),
  LINK_SIGNING_KEYS: "l".repeat(40),
};
const SAFE_WORKER = {
  APP_PROFILE: "prod",
  LLM_PROVIDER: "openai",
  OPENAI_API_KEY: "sk-test",
  LINK_SIGNING_KEYS: "l".repeat(40),
  PAYMENT_PROVIDER: "stripe",
  STRIPE_SECRET_KEY: "sk_live_profiles",
  RESTATE_IDENTITY_KEYS: "publickeyv1_2m8tZhuvAR2NfkGVoGUoTagAe8bvRLoK7ZzVchLJm9rc",
};

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.message;
  }
  assert.fail("expected the configuration to be refused");
}

describe("prod profile", () => {
  it("accepts a safe production configuration", () => {
    assert.equal(loadConfig(webConfigSchema, SAFE_WEB).APP_PROFILE, "prod");
    const worker = loadConfig(workerConfigSchema, SAFE_WORKER);
    assert.equal(worker.SMTP_TLS, "starttls", "TLS by default in prod");
    assert.equal(worker.WORKER_SELF_REGISTER, false);
  });

  const cases: Array<[string, "web" | "worker", Record<string, string>, RegExp, Record<string, string>]> = [
    ["the default session secret", "web", { SESSION_SECRET: "" }, /SESSION_SECRET: the development default/, {}],
    ["the default link signing key (web)", "web", { LINK_SIGNING_KEYS: "" }, /LINK_SIGNING_KEYS: the development default/, {}],
    [
      "the default link signing key (worker)",
      "worker",
      { LINK_SIGNING_KEYS: "" },
      /LINK_SIGNING_KEYS: the development default/,
      {},
    ],
    [
      "the default link signing key kept for verifying",
      "web",
      { LINK_SIGNING_KEYS: `${"n".repeat(40)},dev-only-link-signing-key-change-me-0123456789` },
      /LINK_SIGNING_KEYS: the development default/,
      {},
    ],
    ["pretty logs without OTLP", "web", { LOG_FORMAT: "pretty" }, /LOG_FORMAT: non-JSON logs/, { ALLOW_PRETTY_LOGS: "true" }],
    [
      "web auto-migration",
      "web",
      { WEB_AUTO_MIGRATE: "true" },
      /WEB_AUTO_MIGRATE: migrating from the web/,
      { ALLOW_WEB_AUTO_MIGRATE: "true" },
    ],
    [
      "the offline LLM provider",
      "worker",
      { LLM_PROVIDER: "offline" },
      /LLM_PROVIDER: the offline provider/,
      { ALLOW_OFFLINE_LLM: "true" },
    ],
    [
      "the local payment provider",
      "worker",
      { PAYMENT_PROVIDER: "local" },
      /PAYMENT_PROVIDER: the local provider charges no real card/,
      { ALLOW_LOCAL_PAYMENTS: "true" },
    ],
    [
      "the local payment provider by default",
      "worker",
      { PAYMENT_PROVIDER: "" },
      /PAYMENT_PROVIDER: the local provider/,
      { ALLOW_LOCAL_PAYMENTS: "true" },
    ],
    [
      "a Stripe test-mode secret key",
      "worker",
      { STRIPE_SECRET_KEY: "sk_test_profiles" },
      /STRIPE_SECRET_KEY: a test-mode key \(sk_test_… or rk_test_…\) charges no real card/,
      { ALLOW_TEST_PAYMENTS: "true" },
    ],
    [
      "a Stripe test-mode restricted key",
      "worker",
      { STRIPE_SECRET_KEY: "rk_test_profiles" },
      /STRIPE_SECRET_KEY: a test-mode key/,
      { ALLOW_TEST_PAYMENTS: "true" },
    ],
    [
      "another Stripe API root",
      "worker",
      { STRIPE_API_BASE: "http://127.0.0.1:12111" },
      /STRIPE_API_BASE: another Stripe API root .* refused in prod unless ALLOW_TEST_PAYMENTS=true/,
      { ALLOW_TEST_PAYMENTS: "true" },
    ],
    ["SMTP without TLS", "worker", { SMTP_TLS: "none" }, /SMTP_TLS: plaintext SMTP is refused/, { ALLOW_PLAINTEXT_SMTP: "true" }],
    [
      "forced self-registration",
      "worker",
      { WORKER_SELF_REGISTER: "true", WORKER_REGISTER_FORCE: "true" },
      /WORKER_REGISTER_FORCE: forced self-registration/,
      { ALLOW_REGISTER_FORCE: "true" },
    ],
    [
      "a worker that serves unsigned requests",
      "worker",
      { RESTATE_IDENTITY_KEYS: "" },
      /RESTATE_IDENTITY_KEYS: is required in prod/,
      {},
    ],
    [
      "pretty worker logs without OTLP",
      "worker",
      { LOG_FORMAT: "pretty" },
      /LOG_FORMAT: non-JSON logs/,
      { ALLOW_PRETTY_LOGS: "true" },
    ],
  ];

  for (const [what, process, unsafe, message, allow] of cases) {
    it(`refuses ${what}, naming it${Object.keys(allow).length ? ", unless acknowledged" : ""}`, () => {
      const schema = process === "web" ? webConfigSchema : workerConfigSchema;
      const base = process === "web" ? SAFE_WEB : SAFE_WORKER;
      assert.match(
        refusal(() => loadConfig(schema, { ...base, ...unsafe })),
        message,
      );
      if (Object.keys(allow).length) assert.doesNotThrow(() => loadConfig(schema, { ...base, ...unsafe, ...allow }));
      assert.doesNotThrow(() => loadConfig(schema, { ...base, ...unsafe, APP_PROFILE: "dev" }), "dev accepts it");
    });
  }

  it("pretty logs are fine in prod when traces go to a collector", () => {
    assert.doesNotThrow(() =>
      loadConfig(webConfigSchema, { ...SAFE_WEB, LOG_FORMAT: "pretty", OTEL_EXPORTER_OTLP_ENDPOINT: "http://otel:4318" }),
    );
  });

  it("Stripe needs its secret key, in any profile", () => {
    assert.match(
      refusal(() => loadConfig(workerConfigSchema, { PAYMENT_PROVIDER: "stripe" })),
      /STRIPE_SECRET_KEY: is required with PAYMENT_PROVIDER=stripe/,
    );
    const dev = loadConfig(workerConfigSchema, {});
    assert.equal(dev.PAYMENT_PROVIDER, "local", "local payments stay the development default");
  });

  it("accepts Stripe's live keys, secret and restricted, without ALLOW_TEST_PAYMENTS", () => {
    for (const key of ["sk_live_profiles", "rk_live_profiles"]) {
      assert.equal(loadConfig(workerConfigSchema, { ...SAFE_WORKER, STRIPE_SECRET_KEY: key }).STRIPE_SECRET_KEY, key);
    }
  });

  it("never repeats a refused Stripe key in the message", () => {
    const message = refusal(() => loadConfig(workerConfigSchema, { ...SAFE_WORKER, STRIPE_SECRET_KEY: "sk_test_do_not_print" }));
    assert.doesNotMatch(message, /do_not_print/);
  });

  it("a web taking Stripe's webhooks needs their signing secrets, in any profile", () => {
    const stripe = { PAYMENT_PROVIDER: "stripe" };
    for (const env of [{ ...SAFE_WEB, ...stripe }, stripe, { ...stripe, STRIPE_WEBHOOK_SECRETS: " , " }]) {
      assert.match(
        refusal(() => loadConfig(webConfigSchema, env)),
        /STRIPE_WEBHOOK_SECRETS: is required with PAYMENT_PROVIDER=stripe: webhooks are how payments reach the orders/,
      );
    }
    const web = loadConfig(webConfigSchema, { ...SAFE_WEB, ...stripe, STRIPE_WEBHOOK_SECRETS: "whsec_profiles" });
    assert.deepEqual(web.STRIPE_WEBHOOK_SECRETS, ["whsec_profiles"]);
    assert.equal(loadConfig(webConfigSchema, SAFE_WEB).PAYMENT_PROVIDER, "local", "the web's default matches the worker's");
  });

  it("names every problem at once", () => {
    const message = refusal(() =>
      loadConfig(workerConfigSchema, { APP_PROFILE: "prod", LLM_PROVIDER: "offline", SMTP_TLS: "none" }),
    );
    assert.match(message, /LLM_PROVIDER/);
    assert.match(message, /SMTP_TLS/);
    assert.match(message, /PAYMENT_PROVIDER/);
  });
});

describe("npm run register in prod", () => {
  it("refuses to force a registration unless acknowledged, before contacting Restate", () => {
    const env = {
      PATH: process.env.PATH,
      APP_PROFILE: "prod",
      LLM_PROVIDER: "openai",
      OPENAI_API_KEY: "sk-test",
      LINK_SIGNING_KEYS: "l".repeat(40),
      PAYMENT_PROVIDER: "stripe",
      STRIPE_SECRET_KEY: "sk_live_profiles",
      RESTATE_IDENTITY_KEYS: SAFE_WORKER.RESTATE_IDENTITY_KEYS,
      WORKER_REGISTER_FORCE: "true",
    };
    const run = spawnSync(process.execPath, [fileURLToPath(new URL("../../worker/register.command.ts", import.meta.url))], {
      env,
      encoding: "utf8",
    });
    assert.equal(run.status, 1);
    assert.match(run.stdout + run.stderr, /WORKER_REGISTER_FORCE is refused in prod unless ALLOW_REGISTER_FORCE=true/);
  });
});
