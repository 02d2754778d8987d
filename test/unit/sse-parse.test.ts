import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SseParser, type SseEvent } from "../../scripts/lib/sse-parser.ts";

/** Every event a body yields, fed in the given pieces. */
function parse(...chunks: Array<string | Uint8Array>): { events: SseEvent[]; parser: SseParser } {
  const parser = new SseParser();
  const events = chunks.flatMap((c) => parser.feed(c));
  return { events, parser };
}

const ev = (data: string, event = "message", id: string | null = null): SseEvent => ({ event, data, id });

describe("SseParser", () => {
  it("reads an event's name, data and id, and names an unnamed one `message`", () => {
    const { events, parser } = parse("id: 7\nevent: progress\ndata: <p>50 %</p>\n\ndata: plain\n\n");
    assert.deepEqual(events, [ev("<p>50 %</p>", "progress", "7"), ev("plain")]);
    assert.equal(parser.lastEventId, "7", "the id outlives the event that set it");
  });

  it("joins several data lines with a line feed, keeping empty ones", () => {
    assert.deepEqual(parse("data: one\ndata:\ndata: three\n\n").events, [ev("one\n\nthree")]);
    assert.deepEqual(parse("data\n\n").events, [ev("")], "a field name alone has an empty value");
  });

  it("takes off one space after the colon, no more, and keeps later colons", () => {
    assert.deepEqual(parse("data:x\n\ndata:  two spaces\n\ndata: a: b:c\n\n").events, [ev("x"), ev(" two spaces"), ev("a: b:c")]);
  });

  it("dispatches only on a blank line, and only an event with data", () => {
    assert.deepEqual(parse("data: unfinished\n").events, [], "no blank line yet");
    assert.deepEqual(parse("data: cut off").events, []);
    assert.deepEqual(parse("event: done\n\n").events, [], "no data field: nothing, as in a browser");
    assert.deepEqual(parse("event: gone\n\ndata: next\n\n").events, [ev("next")], "the undispatched name is forgotten");
  });

  it("skips comments and unknown fields", () => {
    const { events } = parse(": keep-alive\n\n:\ndata: a\n: between\nfoo: bar\nDATA: shout\n\n");
    assert.deepEqual(events, [ev("a")]);
  });

  it("keeps the last valid retry and commits an id when its event ends", () => {
    const parser = new SseParser("3");
    assert.equal(parser.lastEventId, "3", "what the connection was opened with");
    assert.deepEqual(parser.feed("retry: 1234\n\n"), [], "a retry alone is no event");
    assert.equal(parser.retryMs, 1234);
    parser.feed("retry: soon\nretry: 12.5\nretry: -1\n\n");
    assert.equal(parser.retryMs, 1234, "a value not all digits is ignored");
    parser.feed("id: 9\ndata: x");
    assert.equal(parser.lastEventId, "3", "an event not yet ended sets no id");
    assert.deepEqual(parser.feed("\n\n"), [ev("x", "message", "9")]);
    assert.equal(parser.lastEventId, "9");
    assert.deepEqual(parser.feed("id: a\0b\ndata: y\n\n"), [ev("y")], "an id holding NUL is ignored");
    assert.equal(parser.lastEventId, "9");
    assert.deepEqual(parser.feed("id\ndata: z\n\n"), [ev("z", "message", "")], "an empty id clears it");
    assert.equal(parser.lastEventId, "");
  });

  it("ends lines on CRLF, CR and LF alike", () => {
    const want = [ev("a\nb", "progress", "1"), ev("c")];
    for (const eol of ["\n", "\r\n", "\r"])
      assert.deepEqual(parse(`id: 1${eol}event: progress${eol}data: a${eol}data: b${eol}${eol}data: c${eol}${eol}`).events, want);
    assert.deepEqual(parse("data: a\r\ndata: b\rid: 1\nevent: progress\r\r\n\ndata: c\n\r").events, want, "mixed");
  });

  it("reads the same events whatever the chunk boundaries, between CR and LF included", () => {
    const body = "\uFEFFretry: 50\r\nid: 4\r\nevent: progress\r\ndata: é€😀\r\ndata: two\r\n\r\n: ka\r\rdata: x\r\r";
    const want = [ev("é€😀\ntwo", "progress", "4"), ev("x")];
    assert.deepEqual(parse(body).events, want);
    for (let i = 0; i <= body.length; i++)
      for (let j = i; j <= body.length; j++) {
        const { events, parser } = parse(body.slice(0, i), body.slice(i, j), body.slice(j));
        assert.deepEqual(events, want, `split at ${i} and ${j}`);
        assert.equal(parser.retryMs, 50);
      }
    assert.deepEqual(parse(...body).events, want, "one character at a time");
    const bytes = new TextEncoder().encode(body);
    assert.deepEqual(parse(...Array.from(bytes, (b) => Uint8Array.of(b))).events, want, "one byte at a time");
  });

  it("takes off a byte order mark at the start of the stream only", () => {
    assert.deepEqual(parse("\uFEFFdata: a\n\n").events, [ev("a")]);
    assert.deepEqual(parse("", "\uFEFFdata: a\n\n").events, [ev("a")], "after an empty chunk");
    assert.deepEqual(parse("data: a\n\n", "\uFEFFdata: b\n\n").events, [ev("a")], "later it starts an unknown field");
  });

  it("reads a line that arrives in many small chunks", () => {
    const long = "x".repeat(100_000);
    const body = `data: ${long}\n\n`;
    const chunks = Array.from({ length: Math.ceil(body.length / 7) }, (_, i) => body.slice(i * 7, i * 7 + 7));
    assert.deepEqual(parse(...chunks).events, [ev(long)]);
  });
});
