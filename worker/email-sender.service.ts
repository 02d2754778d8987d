/**
 * EmailSender (service, ingress-private: other handlers call it, the ingress refuses it): renders
 * and sends one email per idempotency key through the pooled SMTP transport.
 *   send   one named step; SMTP 5xx ends the call as a TerminalError (the row says bounced);
 *          4xx and connection errors are retried with backoff until `giveUpAfterMs`, then the
 *          row is marked failed and the call ends as a TerminalError too.
 */
import * as restate from "@restatedev/restate-sdk";
import type { Mailer, SendResult } from "./adapters/smtp-mailer.ts";
import { asTerminalError, infraRetry } from "./errors.ts";
import { emailRequestSchema } from "./templates/email-templates.ts";

export interface EmailRetryPolicy {
  initialMs: number;
  maxMs: number;
  giveUpAfterMs: number;
}

export const defaultEmailRetry: EmailRetryPolicy = { initialMs: 1_000, maxMs: 5 * 60_000, giveUpAfterMs: 24 * 3_600_000 };

export function createEmailSenderService(deps: { mailer: Mailer; retry?: EmailRetryPolicy }) {
  const retry = deps.retry ?? defaultEmailRetry;
  return restate.service({
    name: "EmailSender",
    handlers: {
      send: restate.handlers.handler(
        { input: restate.serde.schema(emailRequestSchema) },
        async (ctx: restate.Context, req): Promise<SendResult> => {
          try {
            return await ctx.run("send email", () => deps.mailer.send(req), {
              initialRetryInterval: { milliseconds: retry.initialMs },
              maxRetryInterval: { milliseconds: retry.maxMs },
              maxRetryDuration: { milliseconds: retry.giveUpAfterMs },
              retryIntervalFactor: 2,
            });
          } catch (err) {
            if (!(err instanceof restate.TerminalError) || err.metadata?.code === "bounced") throw err;
            // Retries ran out (or the call was cancelled): record it, then end with a code callers can read.
            await ctx.run("mark failed", () => deps.mailer.markFailed(req.idempotencyKey, err.message), infraRetry);
            throw new restate.TerminalError(err.message, { errorCode: 503, metadata: { code: "failed" } });
          }
        },
      ),
    },
    // Only the workflows send mail: nobody may reach it through the ingress.
    options: { asTerminalError, ingressPrivate: true },
  });
}

export type EmailSender = ReturnType<typeof createEmailSenderService>;
export const emailSenderApi: EmailSender = { name: "EmailSender" };
