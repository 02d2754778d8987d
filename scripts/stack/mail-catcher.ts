/**
 * An SMTP catcher with a small web UI: accepts every message on a local SMTP port, keeps it in
 * memory, lists it at the UI port. The development stack runs it; tests read `messages` directly.
 */
import http from "node:http";
import { SMTPServer } from "smtp-server";
import PostalMime from "postal-mime";
import { html } from "../../shared/html.ts";

export interface CaughtMessage {
  id: number;
  receivedAt: string;
  envelopeFrom: string;
  envelopeTo: string[];
  messageId: string | null;
  subject: string;
  html: string | null;
  text: string | null;
  headers: Record<string, string>;
  raw: string;
}

export interface MailCatcher {
  smtpPort: number;
  uiPort: number;
  uiUrl: string;
  messages: CaughtMessage[];
  /** Decide per recipient: return an SMTP error (e.g. 451 or 550) to refuse it, or null to accept. */
  setRecipientPolicy(policy: ((address: string) => { code: number; message: string } | null) | null): void;
  close(): Promise<void>;
}

export async function startMailCatcher(opts: { smtpPort: number; uiPort: number; host?: string }): Promise<MailCatcher> {
  const host = opts.host ?? "127.0.0.1";
  const messages: CaughtMessage[] = [];
  let policy: ((address: string) => { code: number; message: string } | null) | null = null;

  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onRcptTo(address, _session, callback) {
      const refusal = policy?.(address.address);
      if (!refusal) return callback();
      const err = Object.assign(new Error(refusal.message), { responseCode: refusal.code });
      callback(err);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks);
        PostalMime.parse(raw)
          .then((email) => {
            messages.push({
              id: messages.length + 1,
              receivedAt: new Date().toISOString(),
              envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
              envelopeTo: session.envelope.rcptTo.map((r) => r.address),
              messageId: email.messageId ?? null,
              subject: email.subject ?? "",
              html: email.html ?? null,
              text: email.text ?? null,
              headers: Object.fromEntries(email.headers.map((h) => [h.key, h.value])),
              raw: raw.toString("utf8"),
            });
            callback();
          })
          .catch((err: unknown) => callback(err instanceof Error ? err : new Error(String(err))));
      });
    },
  });

  // A client that drops its connection (a worker killed mid-session) is routine for a mail server,
  // not a reason to crash the process that hosts it.
  smtp.on("error", () => undefined);

  const ui = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://catcher");
    const one = /^\/messages\/(\d+)$/.exec(url.pathname);
    if (url.pathname === "/api/messages") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(messages.map(({ raw: _raw, ...m }) => m)));
      return;
    }
    if (one?.[1]) {
      const m = messages.find((x) => x.id === Number(one[1]));
      if (!m) return void res.writeHead(404).end("not found");
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      const page = html`<!doctype html><meta charset="utf-8"><title>${m.subject}</title>
<p><a href="/">All messages</a></p><h1>${m.subject}</h1>
<p>To ${m.envelopeTo.join(", ")} · Message-ID ${m.messageId ?? ""}</p>
<h2>HTML part</h2><iframe sandbox style="width:100%;height:420px;border:1px solid #ccc" srcdoc="${m.html ?? ""}"></iframe>
<h2>Text part</h2><pre>${m.text ?? ""}</pre>`;
      res.end(page.value);
      return;
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    const rows = [...messages]
      .reverse()
      .map(
        (m) =>
          html`<tr><td>${m.receivedAt}</td><td>${m.envelopeTo.join(", ")}</td><td><a href="/messages/${m.id}">${m.subject}</a></td></tr>`,
      );
    const page = html`<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="5"><title>Mail catcher</title>
<h1>Mail catcher</h1><p>${messages.length} message(s) caught on SMTP port ${opts.smtpPort}.</p>
<table border="1" cellpadding="4"><tr><th>Received</th><th>To</th><th>Subject</th></tr>${rows}</table>`;
    res.end(page.value);
  });

  await new Promise<void>((resolve, reject) => {
    smtp.once("error", reject);
    smtp.listen(opts.smtpPort, host, () => resolve());
  });
  await new Promise<void>((resolve, reject) => {
    ui.once("error", reject);
    ui.listen(opts.uiPort, host, () => resolve());
  });

  return {
    smtpPort: opts.smtpPort,
    uiPort: opts.uiPort,
    uiUrl: `http://${host}:${opts.uiPort}`,
    messages,
    setRecipientPolicy(p) {
      policy = p;
    },
    async close() {
      ui.closeAllConnections();
      await Promise.all([new Promise<void>((r) => ui.close(() => r())), new Promise<void>((r) => smtp.close(() => r()))]);
    },
  };
}
