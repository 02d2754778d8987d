/** Which errors the web answers with 503 + Retry-After (a backing service is away) rather than 500. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { isDependencyOutage } from "../../web/middleware/errors.ts";

test("PostgreSQL shutting down or unreachable, and Valkey disconnected, are outages", () => {
  for (const err of [
    Object.assign(new Error("terminating connection due to administrator command"), { code: "57P01" }),
    Object.assign(new Error("the database system is starting up"), { code: "57P03" }),
    Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" }),
    new Error("Connection terminated unexpectedly"),
    Object.assign(new Error("Reached the max retries per request limit (which is 1)."), { name: "MaxRetriesPerRequestError" }),
    new Error("Connection is closed."),
    new Error("Command timed out"),
    new Error("wrapped", { cause: Object.assign(new Error("refused"), { code: "ECONNREFUSED" }) }),
  ]) {
    assert.equal(isDependencyOutage(err), true, String(err));
  }
});

test("programming errors and query errors are not outages", () => {
  for (const err of [
    new TypeError("Cannot read properties of undefined"),
    Object.assign(new Error('duplicate key value violates unique constraint "orders_pkey"'), { code: "23505" }),
    Object.assign(new Error("syntax error"), { code: "42601" }),
    null,
    undefined,
    "a string",
  ]) {
    assert.equal(isDependencyOutage(err), false, String(err));
  }
});

test("a cause chain that points at itself does not loop", () => {
  const err = new Error("loop") as Error & { cause?: unknown };
  err.cause = err;
  assert.equal(isDependencyOutage(err), false);
});
