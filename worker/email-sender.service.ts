/**
 * EmailSender (service): renders and sends one email per idempotency key through the pooled SMTP
 * transport. SMTP 5xx ends the call (bounced); 4xx and connection errors are retried with backoff.
 */
import * as restate from "@restatedev/restate-sdk";
import type { Mailer } from "./adapters/smtp-mailer.ts";
import { asTerminalError } from "./errors.ts";
import { emailRequestSchema } from "./templates/email-templates.ts";

export function createEmailSenderService(deps: { mailer: Mailer }) {
  return restate.service({
    name: "EmailSender",
    handlers: {
      send: restate.handlers.handler({ input: restate.serde.schema(emailRequestSchema) }, async (ctx: restate.Context, req) =>
        ctx.run("send email", () => deps.mailer.send(req), {
          initialRetryInterval: { milliseconds: 500 },
          maxRetryInterval: { seconds: 30 },
          retryIntervalFactor: 2,
        }),
      ),
    },
    options: { asTerminalError },
  });
}

export type EmailSender = ReturnType<typeof createEmailSenderService>;
export const emailSenderApi: EmailSender = { name: "EmailSender" };
