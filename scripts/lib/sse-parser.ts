/**
 * The one reader of `text/event-stream` bodies on the client side, for the tests, the bench and
 * the chaos run: what a browser's EventSource does with the bytes (the HTML standard's "event
 * stream interpretation"), so a check made with it holds for a browser too. Lines end in CRLF, CR
 * or LF, and a chunk may end anywhere, between a CR and its LF included; `:` starts a comment; an
 * event is dispatched on a blank line, and only if it had a `data` field; what is left when the
 * stream ends is dropped.
 *
 * Streaming and cheap: the bench reads ten thousand streams in one process with it. Each chunk is
 * searched once, lines are read in place by index, and a partial line is kept (one concatenation
 * per chunk, none per character) until the chunk that ends it.
 */
import { TextDecoder } from "node:util";

export interface SseEvent {
  /** `message` when the event named none. */
  event: string;
  /** Its `data` lines, joined with "\n". */
  data: string;
  /** This event's own `id` field; null when it had none (`SseParser.lastEventId` carries the stream's). */
  id: string | null;
}

const COLON = 58;
const SPACE = 32;
const LF = 10;
const BOM = 0xfeff;
const DIGITS = /^\d+$/;

export class SseParser {
  /** Made on the first chunk of bytes: the bench's streams arrive as text, ten thousand of them. */
  private decoder: TextDecoder | null = null;
  private started = false;
  /** The line so far, when a chunk ended inside it. */
  private partial = "";
  /** The last chunk ended in CR: an LF opening the next one belongs to the same line break. */
  private afterCr = false;
  private data = "";
  private hasData = false;
  private eventType = "";
  private ownId: string | null = null;
  private idBuffer: string;
  private committedId: string;
  private retry: number | null = null;
  private out: SseEvent[] | null = null;

  /** `lastEventId`: what the connection was opened with, kept until the stream sends another. */
  constructor(lastEventId = "") {
    this.committedId = lastEventId;
    this.idBuffer = lastEventId;
  }

  /** The id a reconnect sends as Last-Event-ID: the last `id` field of an event that has ended. */
  get lastEventId(): string {
    return this.committedId;
  }

  /** The last valid `retry` field: how long the server asks a client to wait before reconnecting. */
  get retryMs(): number | null {
    return this.retry;
  }

  /** Reads the next piece of the body (text, or bytes decoded as UTF-8); returns the events it completed. */
  feed(chunk: string | Uint8Array): SseEvent[] {
    const text = typeof chunk === "string" ? chunk : (this.decoder ??= new TextDecoder()).decode(chunk, { stream: true });
    const end = text.length;
    let pos = 0;
    if (!this.started && end > 0) {
      this.started = true;
      if (text.charCodeAt(0) === BOM) pos = 1;
    }
    if (this.afterCr && pos < end) {
      this.afterCr = false;
      if (text.charCodeAt(pos) === LF) pos++;
    }
    let cr = text.indexOf("\r", pos);
    let lf = text.indexOf("\n", pos);
    while (cr >= 0 || lf >= 0) {
      const eol = cr < 0 ? lf : lf < 0 ? cr : Math.min(cr, lf);
      if (this.partial === "") this.line(text, pos, eol);
      else {
        const whole = this.partial + text.slice(pos, eol);
        this.partial = "";
        this.line(whole, 0, whole.length);
      }
      pos = eol + 1;
      if (eol === cr) {
        if (pos === end) this.afterCr = true;
        else if (text.charCodeAt(pos) === LF) pos++;
      }
      if (cr >= 0 && cr < pos) cr = text.indexOf("\r", pos);
      if (lf >= 0 && lf < pos) lf = text.indexOf("\n", pos);
    }
    if (pos < end) this.partial += pos === 0 ? text : text.slice(pos);
    const events = this.out ?? [];
    this.out = null;
    return events;
  }

  /** One line, `s` from `start` up to `end` (its line break left out). */
  private line(s: string, start: number, end: number): void {
    if (start === end) return this.dispatch();
    if (s.charCodeAt(start) === COLON) return;
    let colon = s.indexOf(":", start);
    if (colon < 0 || colon >= end) colon = end;
    let from = colon + 1;
    if (from < end && s.charCodeAt(from) === SPACE) from++;
    const value = from < end ? s.slice(from, end) : "";
    // The field's name is compared in place: no string for it.
    const length = colon - start;
    if (length === 4 && s.startsWith("data", start)) {
      this.data = this.hasData ? `${this.data}\n${value}` : value;
      this.hasData = true;
    } else if (length === 5 && s.startsWith("event", start)) this.eventType = value;
    else if (length === 2 && s.startsWith("id", start)) {
      if (value.includes("\0")) return;
      this.idBuffer = value;
      this.ownId = value;
    } else if (length === 5 && s.startsWith("retry", start)) {
      if (DIGITS.test(value)) this.retry = Number(value);
    }
  }

  private dispatch(): void {
    this.committedId = this.idBuffer;
    if (this.hasData) {
      const e: SseEvent = { event: this.eventType || "message", data: this.data, id: this.ownId };
      (this.out ??= []).push(e);
    }
    this.data = "";
    this.hasData = false;
    this.eventType = "";
    this.ownId = null;
  }
}
