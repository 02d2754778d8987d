/** `npm run services` then `npm run worker` and `npm run web` with nothing set: their defaults must meet. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { parseEnv } from "node:util";
import { loadConfig } from "../../shared/config.ts";
import { webConfigSchema } from "../../shared/web-config.schema.ts";
import { workerConfigSchema } from "../../shared/worker-config.schema.ts";
import { DEFAULT_PORTS } from "../../scripts/stack/stack.ts";

test("the worker's and web's built-in defaults point at the ports npm run services uses", () => {
  const worker = loadConfig(workerConfigSchema, {});
  const web = loadConfig(webConfigSchema, {});
  const local = (port: number) => `127.0.0.1:${port}`;
  for (const c of [worker, web]) {
    assert.equal(c.DATABASE_URL, `postgres://quayside@${local(DEFAULT_PORTS.postgres)}/quayside`);
    assert.equal(c.VALKEY_URL, `redis://${local(DEFAULT_PORTS.valkey)}`);
    assert.equal(c.RESTATE_ADMIN_URL, `http://${local(DEFAULT_PORTS.admin)}`);
  }
  assert.equal(web.RESTATE_INGRESS_URL, `http://${local(DEFAULT_PORTS.ingress)}`);
  assert.equal(web.WEB_PORT, DEFAULT_PORTS.web);
  assert.equal(web.WEB_METRICS_PORT, DEFAULT_PORTS.webMetrics);
  assert.equal(`${worker.SMTP_HOST}:${worker.SMTP_PORT}`, local(DEFAULT_PORTS.smtp));
  assert.equal(worker.SMTP_TLS, "none");
  assert.equal(worker.WORKER_PORT, DEFAULT_PORTS.worker);
  assert.equal(worker.WORKER_PUBLIC_URL, `http://${local(DEFAULT_PORTS.worker)}`);
  assert.equal(worker.WORKER_METRICS_PORT, DEFAULT_PORTS.workerMetrics);
  assert.equal(worker.PUBLIC_WEB_URL, `http://${local(DEFAULT_PORTS.web)}`);
  assert.equal(worker.WORKER_SELF_REGISTER, true, "the worker registers itself in dev");
});

test(".env.example, copied to .env as it is, is valid for both processes and matches npm run services", () => {
  const env = parseEnv(readFileSync(new URL("../../.env.example", import.meta.url), "utf8"));
  const worker = loadConfig(workerConfigSchema, env);
  const web = loadConfig(webConfigSchema, env);
  assert.deepEqual(
    [worker.DATABASE_URL, worker.VALKEY_URL, worker.SMTP_PORT, web.RESTATE_INGRESS_URL, web.RESTATE_UI_URL],
    [
      loadConfig(workerConfigSchema, {}).DATABASE_URL,
      loadConfig(workerConfigSchema, {}).VALKEY_URL,
      DEFAULT_PORTS.smtp,
      `http://127.0.0.1:${DEFAULT_PORTS.ingress}`,
      `http://127.0.0.1:${DEFAULT_PORTS.admin}`,
    ],
  );
});
