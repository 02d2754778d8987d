import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { migrateConfigSchema } from "../../shared/command-config.schema.ts";
import { ConfigError, loadConfig } from "../../shared/config.ts";
import { webConfigSchema } from "../../shared/web-config.schema.ts";
import { workerConfigSchema } from "../../shared/worker-config.schema.ts";

const RESTATE_KEY = "publickeyv1_2m8tZhuvAR2NfkGVoGUoTagAe8bvRLoK7ZzVchLJm9rc";
const OTHER_RESTATE_KEY = "publickeyv1_3d7b1CbLmv7rdTUJZoz4pt9Zwo35KdpDoCTAgy5yf2eL";

/** A prod worker environment that acknowledges the offline LLM and the local payment provider (prod refuses both by default). */
const PROD_WORKER = {
  APP_PROFILE: "prod",
  ALLOW_OFFLINE_LLM: "true",
  ALLOW_LOCAL_PAYMENTS: "true",
  LINK_SIGNING_KEYS: "l".repeat(40),
  RESTATE_IDENTITY_KEYS: RESTATE_KEY,
} as const;

const DEV_SECRET = "dev-only-session-secret-change-me-0123456789";

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    assert.equal(err.name, "ConfigError");
    return err;
  }
  assert.fail("expected loadConfig to throw");
}

describe("loadConfig(webConfigSchema)", () => {
  it("applies defaults for an empty environment", () => {
    const c = loadConfig(webConfigSchema, {});
    assert.equal(c.APP_PROFILE, "dev");
    assert.equal(c.WEB_HOST, "127.0.0.1");
    assert.equal(c.WEB_PORT, 3000);
    assert.equal(c.LOG_LEVEL, "info");
    assert.equal(c.LOG_FORMAT, "json");
    assert.equal(c.DATABASE_URL, "postgres://quayside@127.0.0.1:5432/quayside");
    assert.equal(c.VALKEY_URL, "redis://127.0.0.1:6379");
    assert.equal(c.RESTATE_INGRESS_URL, "http://127.0.0.1:8080");
    assert.equal(c.RESTATE_UI_URL, undefined);
    assert.equal(c.SESSION_SECRET, DEV_SECRET);
    assert.equal(c.SESSION_TTL_SECONDS, 7 * 86_400);
    assert.equal(c.SSE_KEEPALIVE_MS, 15_000);
    assert.equal(c.PROGRESS_STREAM_MAXLEN, 1000);
  });

  it("coerces numeric variables from strings", () => {
    const c = loadConfig(webConfigSchema, {
      WEB_PORT: "8081",
      SSE_KEEPALIVE_MS: "250",
    });
    assert.equal(c.WEB_PORT, 8081);
    assert.equal(c.SSE_KEEPALIVE_MS, 250);
  });

  it("refuses a non-numeric WEB_PORT with a ConfigError naming WEB_PORT", () => {
    const err = configError(() => loadConfig(webConfigSchema, { WEB_PORT: "abc" }));
    assert.match(err.message, /^invalid configuration:/);
    assert.match(err.message, /\bWEB_PORT:/);
  });

  it("refuses an out-of-range WEB_PORT", () => {
    const err = configError(() => loadConfig(webConfigSchema, { WEB_PORT: "70000" }));
    assert.match(err.message, /\bWEB_PORT:/);
  });

  it("names every bad variable in one error", () => {
    const err = configError(() => loadConfig(webConfigSchema, { WEB_PORT: "abc", LOG_LEVEL: "loud" }));
    assert.match(err.message, /\bWEB_PORT:/);
    assert.match(err.message, /\bLOG_LEVEL:/);
  });

  it("treats empty-string variables as unset", () => {
    const c = loadConfig(webConfigSchema, {
      WEB_PORT: "",
      SESSION_SECRET: "",
      DATABASE_URL: "",
      RESTATE_UI_URL: "",
    });
    assert.equal(c.WEB_PORT, 3000);
    assert.equal(c.SESSION_SECRET, DEV_SECRET);
    assert.equal(c.DATABASE_URL, "postgres://quayside@127.0.0.1:5432/quayside");
    assert.equal(c.RESTATE_UI_URL, undefined);
  });

  it("refuses the development SESSION_SECRET in prod, naming SESSION_SECRET", () => {
    const err = configError(() => loadConfig(webConfigSchema, { APP_PROFILE: "prod" }));
    assert.match(err.message, /\bSESSION_SECRET: the development default is refused in prod/);
    // Passing the default explicitly is refused too.
    const err2 = configError(() =>
      loadConfig(webConfigSchema, {
        APP_PROFILE: "prod",
        SESSION_SECRET: DEV_SECRET,
      }),
    );
    assert.match(err2.message, /\bSESSION_SECRET:/);
  });

  it("accepts a real 40-character SESSION_SECRET in prod", () => {
    const secret = "x".repeat(20) + "y".repeat(20);
    assert.equal(secret.length, 40);
    const c = loadConfig(webConfigSchema, {
      APP_PROFILE: "prod",
      SESSION_SECRET: secret,
      LINK_SIGNING_KEYS: "l".repeat(40),
    });
    assert.equal(c.APP_PROFILE, "prod");
    assert.equal(c.SESSION_SECRET, secret);
  });

  it("reads LINK_SIGNING_KEYS as a comma-separated list, newest first, each at least 32 characters", () => {
    const [a, b] = ["a".repeat(32), "b".repeat(40)];
    assert.deepEqual(loadConfig(webConfigSchema, { LINK_SIGNING_KEYS: ` ${a} , ${b},` }).LINK_SIGNING_KEYS, [a, b]);
    assert.equal(loadConfig(webConfigSchema, {}).LINK_SIGNING_KEYS.length, 1, "a development default");
    assert.equal(loadConfig(workerConfigSchema, {}).LINK_TTL_SECONDS, 30 * 86_400);
    const err = configError(() => loadConfig(workerConfigSchema, { LINK_SIGNING_KEYS: `${a},short` }));
    assert.match(err.message, /\bLINK_SIGNING_KEYS\.1: each key must be at least 32 characters/);
    assert.match(configError(() => loadConfig(webConfigSchema, { LINK_SIGNING_KEYS: " , " })).message, /LINK_SIGNING_KEYS/);
    assert.match(configError(() => loadConfig(webConfigSchema, { LINK_TTL_SECONDS: "10" })).message, /LINK_TTL_SECONDS/);
  });

  it("refuses a SESSION_SECRET shorter than 32 characters (in dev as well)", () => {
    const err = configError(() => loadConfig(webConfigSchema, { SESSION_SECRET: "a".repeat(31) }));
    assert.match(err.message, /\bSESSION_SECRET: must be at least 32 characters/);
    assert.equal(loadConfig(webConfigSchema, { SESSION_SECRET: "a".repeat(32) }).SESSION_SECRET, "a".repeat(32));
  });

  it("refuses an unknown APP_PROFILE", () => {
    const err = configError(() => loadConfig(webConfigSchema, { APP_PROFILE: "staging" }));
    assert.match(err.message, /\bAPP_PROFILE:/);
  });

  it("refuses a non-postgres DATABASE_URL, naming DATABASE_URL", () => {
    const err = configError(() => loadConfig(webConfigSchema, { DATABASE_URL: "mysql://x" }));
    assert.match(err.message, /\bDATABASE_URL:/);
    assert.doesNotMatch(err.message, /\bWEB_PORT\b/);
  });

  it("accepts postgres:// and postgresql:// DATABASE_URLs", () => {
    assert.equal(
      loadConfig(webConfigSchema, { DATABASE_URL: "postgresql://u@db:5432/x" }).DATABASE_URL,
      "postgresql://u@db:5432/x",
    );
    assert.equal(loadConfig(webConfigSchema, { DATABASE_URL: "postgres://u@db/x" }).DATABASE_URL, "postgres://u@db/x");
  });

  it("reads STRIPE_WEBHOOK_SECRETS as a comma-separated list of whsec_ secrets (two while rolling)", () => {
    const c = loadConfig(webConfigSchema, { PAYMENT_PROVIDER: "stripe", STRIPE_WEBHOOK_SECRETS: " whsec_new , whsec_old," });
    assert.equal(c.PAYMENT_PROVIDER, "stripe");
    assert.deepEqual(c.STRIPE_WEBHOOK_SECRETS, ["whsec_new", "whsec_old"]);
    assert.equal(loadConfig(webConfigSchema, {}).STRIPE_WEBHOOK_SECRETS, undefined, "the local provider needs none");
    for (const bad of ["CHANGE-ME", "whsec_new,sk_live_x", "whsec_", "whsec_a b"]) {
      const err = configError(() => loadConfig(webConfigSchema, { PAYMENT_PROVIDER: "stripe", STRIPE_WEBHOOK_SECRETS: bad }));
      assert.match(err.message, /STRIPE_WEBHOOK_SECRETS\.\d: each secret must start with whsec_/);
    }
  });

  it("refuses a non-redis VALKEY_URL", () => {
    const err = configError(() => loadConfig(webConfigSchema, { VALKEY_URL: "http://127.0.0.1:6379" }));
    assert.match(err.message, /\bVALKEY_URL:/);
    assert.equal(loadConfig(webConfigSchema, { VALKEY_URL: "rediss://cache:6380" }).VALKEY_URL, "rediss://cache:6380");
  });
});

describe("loadConfig(workerConfigSchema)", () => {
  it("applies defaults, with self-registration on in dev", () => {
    const c = loadConfig(workerConfigSchema, {});
    assert.equal(c.APP_PROFILE, "dev");
    assert.equal(c.WORKER_HOST, "127.0.0.1");
    assert.equal(c.WORKER_PORT, 9080);
    assert.equal(c.SMTP_PORT, 1025);
    assert.equal(c.SMTP_TLS, "none");
    assert.equal(c.SMTP_POOL_SIZE, 5);
    assert.equal(c.MAIL_FROM, "Quayside <orders@quayside.test>");
    assert.equal(c.WORKER_SELF_REGISTER, true);
    assert.equal(c.WORKER_REGISTER_FORCE, true);
  });

  it("turns self-registration off by default in prod", () => {
    const c = loadConfig(workerConfigSchema, PROD_WORKER);
    assert.equal(c.WORKER_SELF_REGISTER, false);
    assert.equal(c.WORKER_REGISTER_FORCE, false);
  });

  it("lets WORKER_SELF_REGISTER be overridden either way", () => {
    assert.equal(loadConfig(workerConfigSchema, { WORKER_SELF_REGISTER: "false" }).WORKER_SELF_REGISTER, false);
    assert.equal(
      loadConfig(workerConfigSchema, {
        ...PROD_WORKER,
        WORKER_SELF_REGISTER: "true",
      }).WORKER_SELF_REGISTER,
      true,
    );
    assert.equal(
      loadConfig(workerConfigSchema, {
        ...PROD_WORKER,
        WORKER_SELF_REGISTER: "1",
      }).WORKER_SELF_REGISTER,
      true,
    );
    assert.equal(loadConfig(workerConfigSchema, { WORKER_SELF_REGISTER: "no" }).WORKER_SELF_REGISTER, false);
  });

  it("treats an empty WORKER_SELF_REGISTER as unset (profile default applies)", () => {
    assert.equal(loadConfig(workerConfigSchema, { WORKER_SELF_REGISTER: "" }).WORKER_SELF_REGISTER, true);
    assert.equal(
      loadConfig(workerConfigSchema, {
        ...PROD_WORKER,
        WORKER_SELF_REGISTER: "",
      }).WORKER_SELF_REGISTER,
      false,
    );
  });

  it("refuses to start in prod without RESTATE_IDENTITY_KEYS, naming it; dev may leave it unset", () => {
    const { RESTATE_IDENTITY_KEYS: _, ...unsigned } = PROD_WORKER;
    for (const env of [unsigned, { ...unsigned, RESTATE_IDENTITY_KEYS: "" }, { ...unsigned, RESTATE_IDENTITY_KEYS: " , " }]) {
      const err = configError(() => loadConfig(workerConfigSchema, env));
      assert.match(err.message, /\bRESTATE_IDENTITY_KEYS: is required in prod/);
    }
    assert.equal(loadConfig(workerConfigSchema, { ...unsigned, APP_PROFILE: "dev" }).RESTATE_IDENTITY_KEYS, undefined);
  });

  it("reads RESTATE_IDENTITY_KEYS as a comma-separated list of publickeyv1 keys, in any profile", () => {
    const c = loadConfig(workerConfigSchema, { ...PROD_WORKER, RESTATE_IDENTITY_KEYS: ` ${RESTATE_KEY} ,${OTHER_RESTATE_KEY}` });
    assert.deepEqual(c.RESTATE_IDENTITY_KEYS, [RESTATE_KEY, OTHER_RESTATE_KEY]);
    for (const bad of ["CHANGE-ME", `${RESTATE_KEY}0OIl`, RESTATE_KEY.replace("publickeyv1_", "")]) {
      const err = configError(() => loadConfig(workerConfigSchema, { RESTATE_IDENTITY_KEYS: bad }));
      assert.match(err.message, /RESTATE_IDENTITY_KEYS\.0: each key must look like publickeyv1_<base58>/);
    }
  });

  it("payment timing: Checkout expiry, the wait before asking Stripe, attempts per step", () => {
    const c = loadConfig(workerConfigSchema, {});
    assert.equal(c.CHECKOUT_EXPIRY_MINUTES, 30);
    assert.equal(c.PAYMENT_CHECK_INTERVAL_MS, 180_000);
    assert.equal(c.PAYMENT_RETRY_LIMIT, 12);
    const set = loadConfig(workerConfigSchema, {
      CHECKOUT_EXPIRY_MINUTES: "1440",
      PAYMENT_CHECK_INTERVAL_MS: "1000",
      PAYMENT_RETRY_LIMIT: "100",
    });
    assert.deepEqual([set.CHECKOUT_EXPIRY_MINUTES, set.PAYMENT_CHECK_INTERVAL_MS, set.PAYMENT_RETRY_LIMIT], [1440, 1000, 100]);
    // Stripe refuses a Checkout Session that expires in under 30 minutes or over 24 hours.
    for (const [name, value] of [
      ["CHECKOUT_EXPIRY_MINUTES", "29"],
      ["CHECKOUT_EXPIRY_MINUTES", "1441"],
      ["CHECKOUT_EXPIRY_MINUTES", "30.5"],
      ["PAYMENT_CHECK_INTERVAL_MS", "999"],
      ["PAYMENT_CHECK_INTERVAL_MS", "3600001"],
      ["PAYMENT_RETRY_LIMIT", "0"],
      ["PAYMENT_RETRY_LIMIT", "101"],
    ] as const) {
      const err = configError(() => loadConfig(workerConfigSchema, { [name]: value }));
      assert.match(err.message, new RegExp(`\\b${name}:`));
    }
  });

  it("refuses an unrecognised boolean, naming the variable", () => {
    const err = configError(() => loadConfig(workerConfigSchema, { WORKER_SELF_REGISTER: "maybe" }));
    assert.match(err.message, /\bWORKER_SELF_REGISTER:/);
  });

  it("refuses an invalid DATABASE_URL, naming DATABASE_URL", () => {
    const err = configError(() => loadConfig(workerConfigSchema, { DATABASE_URL: "mysql://x" }));
    assert.match(err.message, /\bDATABASE_URL:/);
  });

  it("refuses an out-of-range SMTP_POOL_SIZE and unknown SMTP_TLS", () => {
    const err = configError(() => loadConfig(workerConfigSchema, { SMTP_POOL_SIZE: "0", SMTP_TLS: "ssl" }));
    assert.match(err.message, /\bSMTP_POOL_SIZE:/);
    assert.match(err.message, /\bSMTP_TLS:/);
  });
});

describe("loadConfig(migrateConfigSchema)", () => {
  it("uses only the database and log settings", () => {
    const c = loadConfig(migrateConfigSchema, {
      LOG_LEVEL: "debug",
      WEB_PORT: "abc",
    });
    assert.deepEqual(c, {
      LOG_LEVEL: "debug",
      LOG_FORMAT: "json",
      DATABASE_URL: "postgres://quayside@127.0.0.1:5432/quayside",
    });
  });
});
