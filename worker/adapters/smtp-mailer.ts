/**
 * Sends email through one pooled nodemailer SMTP transport, recording one `emails` row per
 * idempotency key. A key that was already sent is not sent again; the Message-ID is derived from
 * the key, so even a resend after a crash at the worst moment is recognisable downstream.
 */
import { createHash } from "node:crypto";
import nodemailer from "nodemailer";
import type pg from "pg";
import { PermanentError } from "../errors.ts";
import { renderEmail, type EmailRequest } from "../templates/email-templates.ts";

export interface SmtpSettings {
  host: string;
  port: number;
  tls: "none" | "starttls" | "implicit";
  user?: string | undefined;
  password?: string | undefined;
  poolSize: number;
  from: string;
}

export interface SendResult {
  messageId: string;
  status: "sent";
}

export function createSmtpTransport(s: SmtpSettings) {
  return nodemailer.createTransport({
    pool: true,
    maxConnections: s.poolSize,
    host: s.host,
    port: s.port,
    secure: s.tls === "implicit",
    requireTLS: s.tls === "starttls",
    ignoreTLS: s.tls === "none",
    auth: s.user ? { user: s.user, pass: s.password ?? "" } : undefined,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  });
}
export type SmtpTransport = ReturnType<typeof createSmtpTransport>;

export function messageIdFor(idempotencyKey: string, from: string): string {
  // The address is the part in angle brackets when there is one (a display name may contain "@").
  const address = /<([^<>]+)>\s*$/.exec(from)?.[1] ?? from;
  const domain = /@([^@>\s"]+)\s*$/.exec(address)?.[1] ?? "quayside.local";
  return `<${createHash("sha256").update(idempotencyKey).digest("hex").slice(0, 32)}@${domain}>`;
}

function smtpCode(err: unknown): number | undefined {
  const code = (err as { responseCode?: unknown } | null)?.responseCode;
  return typeof code === "number" ? code : undefined;
}

export function createSmtpMailer(pool: pg.Pool, transport: SmtpTransport, from: string) {
  async function send(req: EmailRequest): Promise<SendResult> {
    const rendered = renderEmail(req);
    const messageId = messageIdFor(req.idempotencyKey, from);
    await pool.query(
      `INSERT INTO emails (idempotency_key, message_id, recipient, subject, template)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT (idempotency_key) DO NOTHING`,
      [req.idempotencyKey, messageId, req.to, rendered.subject, req.template],
    );
    const row = await pool.query(`UPDATE emails SET attempts = attempts + 1 WHERE idempotency_key = $1 RETURNING status`, [
      req.idempotencyKey,
    ]);
    const status = row.rows[0]?.status as string | undefined;
    if (status === "sent") return { messageId, status: "sent" };
    if (status === "bounced") throw new PermanentError("bounced", `Email ${req.idempotencyKey} bounced earlier`);
    try {
      await transport.sendMail({
        from,
        to: req.to,
        subject: rendered.subject,
        html: rendered.html,
        text: rendered.text,
        messageId,
      });
    } catch (err) {
      const code = smtpCode(err);
      const message = err instanceof Error ? err.message : String(err);
      if (code !== undefined && code >= 500) {
        await pool.query(`UPDATE emails SET status = 'bounced', error = $2 WHERE idempotency_key = $1`, [
          req.idempotencyKey,
          message,
        ]);
        throw new PermanentError("bounced", `The mail server refused the message (${code})`);
      }
      await pool.query(`UPDATE emails SET error = $2 WHERE idempotency_key = $1`, [req.idempotencyKey, message]);
      throw err;
    }
    await pool.query(`UPDATE emails SET status = 'sent', sent_at = now(), error = NULL WHERE idempotency_key = $1`, [
      req.idempotencyKey,
    ]);
    return { messageId, status: "sent" };
  }

  return { send };
}
export type Mailer = ReturnType<typeof createSmtpMailer>;
