/**
 * Sends email through one pooled nodemailer SMTP transport, recording one `emails` row per
 * idempotency key (status, Message-ID, attempts, last error). A key that was already sent is not
 * sent again; the Message-ID is derived from the key, so even a resend after a crash at the worst
 * moment is recognisable downstream. SMTP replies are sorted here: a 5xx about the message or
 * recipient is a bounce (PermanentError); 4xx, connection, TLS and login problems are retried.
 */
import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { context, SpanKind } from "@opentelemetry/api";
import nodemailer from "nodemailer";
import type pg from "pg";
import { PermanentError } from "../errors.ts";
import { renderEmail, type EmailRequest, type LinkSigner, type RenderableEmail } from "../templates/email-templates.ts";
import type { CampaignContent } from "./campaigns.repo.ts";
import { maskEmailAddresses } from "../../shared/logger.ts";
import { inSpan } from "../../shared/telemetry.ts";

export interface SmtpSettings {
  host: string;
  port: number;
  /** implicit: TLS from the first byte (465); starttls: upgrade required (587); none: the local catcher only. */
  tls: "none" | "starttls" | "implicit";
  user?: string | undefined;
  password?: string | undefined;
  poolSize: number;
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
    tls: { minVersion: "TLSv1.2" },
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

/** A failure worth retrying: SMTP 4xx, a dropped connection, a timeout, a login or TLS problem. */
export class SmtpTemporaryError extends Error {
  override name = "SmtpTemporaryError";
}

// 5xx replies to these commands are about our own setup (login, TLS, greeting), not the message:
// retrying after the operator fixes it delivers the mail, calling it a bounce would lose it.
const SETUP_COMMANDS = /^(CONN|EHLO|HELO|LHLO|STARTTLS|AUTH)/i;

export type SmtpFailure = { permanent: boolean; code: number | null; message: string };

/** Sorts a nodemailer error into permanent (bounced) or temporary. */
export function classifySmtpError(err: unknown): SmtpFailure {
  const e = (err ?? {}) as { responseCode?: unknown; response?: unknown; command?: unknown; code?: unknown; message?: unknown };
  const code = typeof e.responseCode === "number" ? e.responseCode : null;
  const command = typeof e.command === "string" ? e.command : "";
  const detail = typeof e.response === "string" ? e.response : typeof e.message === "string" ? e.message : String(err);
  // Servers quote the recipient in their replies ("550 <bob@…>: unknown user"); the reply travels on
  // into logs, the journal and the campaign page, so the address is masked here, where it enters.
  const message = maskEmailAddresses(
    code !== null ? detail : `${typeof e.code === "string" ? `${e.code}: ` : ""}${detail}`,
  ).slice(0, 500);
  if (code !== null && code >= 500 && !SETUP_COMMANDS.test(command)) return { permanent: true, code, message };
  // An envelope nodemailer itself refuses (no usable recipient) cannot get better by waiting.
  if (code === null && e.code === "EENVELOPE") return { permanent: true, code, message };
  return { permanent: false, code, message };
}

/** About half a minute of attempts to record a delivery the server has already accepted. */
const RECORD_SENT_ATTEMPTS = 40;

/** Reads a campaign's stored subject and body (campaign messages carry only its id). */
export type CampaignContentSource = (campaignId: string) => Promise<CampaignContent | null>;

/**
 * `links` signs the order and unsubscribe links in each message as it is rendered (see
 * email-templates.ts); `campaignContent` supplies a campaign message's stored content.
 */
export function createSmtpMailer(
  pool: pg.Pool,
  transport: SmtpTransport,
  from: string,
  links: LinkSigner,
  campaignContent: CampaignContentSource,
) {
  type Queryable = Pick<pg.Pool, "query">;
  const record = (db: Queryable, key: string, sets: string, params: unknown[] = []) =>
    db.query(`UPDATE emails SET ${sets}, updated_at = now() WHERE idempotency_key = $1`, [key, ...params]);

  /**
   * One attempt at a time per idempotency key. When Restate moves an invocation (a partition's
   * leader changes, or it gives up on a stream), the old attempt's step can still be running while
   * the new one starts; without this lock both would find the row pending and both would send.
   * The lock is a session lock on the connection the attempt holds, so a crashed worker's lock
   * goes with its connection.
   */
  async function send(req: EmailRequest): Promise<SendResult> {
    const client = await pool.connect();
    const lock = { key: `email:${req.idempotencyKey}`, held: false };
    let broken: Error | undefined;
    try {
      return await sendLocked(client, req, lock);
    } catch (err) {
      if (!(err instanceof PermanentError) && !(err instanceof SmtpTemporaryError)) broken = err as Error;
      throw err;
    } finally {
      // A successful send released the lock in its last statement; any other end releases it here.
      if (lock.held && !broken) {
        await client
          .query(`SELECT pg_advisory_unlock(hashtextextended($1, 0))`, [lock.key])
          .catch((err: unknown) => (broken = err as Error));
      }
      // A connection that failed may still hold the lock: closing it releases the lock.
      client.release(broken);
    }
  }

  /**
   * Two round trips on the way that matters: (1) take the lock and claim the row (insert it, or
   * count one more attempt on it) in one statement; (2) after the server accepted the message,
   * mark it sent and release the lock in one statement.
   */
  async function sendLocked(db: Queryable, req: EmailRequest, lock: { key: string; held: boolean }): Promise<SendResult> {
    const rendered = renderEmail(await renderable(req), links);
    const messageId = messageIdFor(req.idempotencyKey, from);
    const key = req.idempotencyKey;
    const row = await db.query<{ status: string; error: string | null }>(
      `WITH lock AS (SELECT pg_advisory_lock(hashtextextended($6, 0)))
       INSERT INTO emails (idempotency_key, message_id, recipient, subject, template, attempts)
       SELECT $1, $2, $3, $4, $5, 1 FROM lock
       ON CONFLICT (idempotency_key) DO UPDATE SET attempts = emails.attempts + 1, updated_at = now()
       RETURNING status, error`,
      [key, messageId, req.to, rendered.subject, req.template, lock.key],
    );
    lock.held = true;
    const stored = row.rows[0];
    if (stored?.status === "sent") return { messageId, status: "sent" };
    if (stored?.status === "bounced" || stored?.status === "failed")
      throw new PermanentError(stored.status, stored.error ?? `The message was ${stored.status} earlier`);
    try {
      // nodemailer has no OpenTelemetry instrumentation: this span is the SMTP exchange.
      await inSpan(
        "smtp send",
        context.active(),
        () =>
          transport.sendMail({
            from,
            to: req.to,
            subject: rendered.subject,
            html: rendered.html,
            text: rendered.text,
            headers: rendered.headers,
            messageId,
          }),
        { kind: SpanKind.CLIENT, attributes: { "email.template": req.template } },
      );
    } catch (err) {
      const failure = classifySmtpError(err);
      if (failure.permanent) {
        await record(db, key, `status = 'bounced', error = $2, smtp_code = $3`, [failure.message, failure.code]);
        throw new PermanentError("bounced", `The mail server refused the message: ${failure.message}`);
      }
      await record(db, key, `error = $2, smtp_code = $3`, [failure.message, failure.code]);
      throw new SmtpTemporaryError(`SMTP delivery will be retried: ${failure.message}`, { cause: err });
    }
    // The server has the message now. If PostgreSQL is briefly away, keep trying to write that down
    // here (through the pool: this connection may be gone) rather than fail the step, whose retry
    // would find the row pending and send it again.
    for (let attempt = 1; ; attempt++) {
      try {
        if (attempt === 1) {
          const released = await db.query(
            `WITH sent AS (
               UPDATE emails SET status = 'sent', sent_at = now(), error = NULL, smtp_code = NULL, updated_at = now()
                WHERE idempotency_key = $1 RETURNING 1)
             SELECT pg_advisory_unlock(hashtextextended($2, 0)) FROM sent`,
            [key, lock.key],
          );
          if (released.rowCount === 1) lock.held = false;
        } else {
          await record(pool, key, `status = 'sent', sent_at = now(), error = NULL, smtp_code = NULL`);
        }
        break;
      } catch (err) {
        if (attempt >= RECORD_SENT_ATTEMPTS) throw err;
        await sleep(Math.min(100 * attempt, 1_000));
      }
    }
    return { messageId, status: "sent" };
  }

  async function renderable(req: EmailRequest): Promise<RenderableEmail> {
    if (req.template !== "campaign") return req;
    const content = await campaignContent(req.data.campaignId);
    // The workflow stores the campaign before its first send: a missing row cannot appear by retrying.
    if (!content) throw new PermanentError("failed", `Campaign ${req.data.campaignId} is not stored`);
    return { ...req, data: { ...req.data, ...content } };
  }

  /** After the retries ran out: the row says so, unless the message went out or bounced meanwhile. */
  async function markFailed(idempotencyKey: string, reason: string): Promise<void> {
    await pool.query(
      `UPDATE emails SET status = 'failed', error = $2, updated_at = now() WHERE idempotency_key = $1 AND status = 'pending'`,
      [idempotencyKey, reason.slice(0, 500)],
    );
  }

  return { send, markFailed };
}
export type Mailer = ReturnType<typeof createSmtpMailer>;
