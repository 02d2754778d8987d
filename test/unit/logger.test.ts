import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, it, test } from "node:test";
import { createLogger, maskEmailAddresses } from "../../shared/logger.ts";

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, logger: createLogger({ name: "t", level: "info", format: "json", destination }) };
}

describe("logger redaction", () => {
  it("never writes secrets, tokens, card data or cookies", () => {
    const { lines, logger } = capture();
    logger.info(
      {
        config: { SESSION_SECRET: "s3cr3t-session", SMTP_PASSWORD: "smtp-pass-123", DATABASE_URL: "postgres://x" },
        req: { headers: { cookie: "qs_session=abc", authorization: "Bearer tok-999" } },
        form: { _csrf: "csrf-token-1", card: "4242424242424242" },
        password: "hunter2",
      },
      "hello",
    );
    const out = lines.join("");
    for (const secret of [
      "s3cr3t-session",
      "smtp-pass-123",
      "qs_session=abc",
      "tok-999",
      "csrf-token-1",
      "4242424242424242",
      "hunter2",
    ]) {
      assert.ok(!out.includes(secret), `${secret} leaked: ${out}`);
    }
    assert.match(out, /\[redacted\]/);
    assert.match(out, /postgres:\/\/x/, "non-secret fields are kept");
  });
});

test("email addresses in free text are masked to their first letter and domain", () => {
  assert.equal(
    maskEmailAddresses("550 5.1.1 <bob.smith+x@mail.example.org>: unknown; also ann@b.io"),
    "550 5.1.1 <b***@mail.example.org>: unknown; also a***@b.io",
  );
  assert.equal(maskEmailAddresses("no address here @ all"), "no address here @ all");
});
