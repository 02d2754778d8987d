import assert from "node:assert/strict";
import { IncomingMessage } from "node:http";
import { Socket } from "node:net";
import { describe, it } from "node:test";
import { clientIp, requestIdOf } from "../../web/middleware/request-context.ts";

function request(headers: Record<string, string>, peer = "10.0.0.1"): IncomingMessage {
  const socket = new Socket();
  Object.defineProperty(socket, "remoteAddress", { value: peer });
  const req = new IncomingMessage(socket);
  req.headers = headers;
  return req;
}

describe("the client's address (Koa's routes and the stream front alike)", () => {
  it("is the socket's peer unless a proxy is trusted, whatever X-Forwarded-For says", () => {
    assert.equal(clientIp(request({ "x-forwarded-for": "198.51.100.7" }), false), "10.0.0.1");
  });

  it("behind the proxy: the last X-Forwarded-For entry, the one the proxy appended", () => {
    assert.equal(clientIp(request({ "x-forwarded-for": "198.51.100.7, 203.0.113.9 " }), true), "203.0.113.9");
    assert.equal(clientIp(request({ "x-forwarded-for": "203.0.113.9" }), true), "203.0.113.9");
  });

  it("falls back to the peer when the header is missing or its last entry is empty", () => {
    assert.equal(clientIp(request({}), true), "10.0.0.1");
    assert.equal(clientIp(request({ "x-forwarded-for": "198.51.100.7," }), true), "10.0.0.1");
  });
});

describe("the request id", () => {
  it("keeps the caller's id when it looks like one", () => {
    assert.equal(requestIdOf(request({ "x-request-id": "abc-1234_xyz" })), "abc-1234_xyz");
  });

  it("makes a new one for a missing, short, long or odd id", () => {
    for (const incoming of [undefined, "short", "x".repeat(65), "has space 123", "<script>1234"]) {
      const id = requestIdOf(request(incoming === undefined ? {} : { "x-request-id": incoming }));
      assert.notEqual(id, incoming);
      assert.match(id, /^[0-9a-f-]{36}$/);
    }
  });
});
