/** The one pino base logger per process, with secrets redacted wherever they appear. */
import { pino, type DestinationStream, type Logger } from "pino";
import { activeTraceIds } from "./telemetry.ts";

export type { Logger };

export const REDACT_PATHS = [
  "password",
  "*.password",
  "SMTP_PASSWORD",
  "*.SMTP_PASSWORD",
  "SESSION_SECRET",
  "*.SESSION_SECRET",
  "OPERATOR_PASSWORD",
  "*.OPERATOR_PASSWORD",
  "LINK_SIGNING_KEYS",
  "STRIPE_WEBHOOK_SECRETS",
  "*.STRIPE_WEBHOOK_SECRETS",
  "*.LINK_SIGNING_KEYS",
  "OPENAI_API_KEY",
  "*.OPENAI_API_KEY",
  "ANTHROPIC_API_KEY",
  "*.ANTHROPIC_API_KEY",
  "STRIPE_SECRET_KEY",
  "*.STRIPE_SECRET_KEY",
  "apiKey",
  "*.apiKey",
  "card",
  "*.card",
  "secret",
  "*.secret",
  "token",
  "*.token",
  "csrf",
  "*.csrf",
  "_csrf",
  "*._csrf",
  "req.headers.cookie",
  "req.headers.authorization",
  'res.headers["set-cookie"]',
  "headers.cookie",
  "headers.authorization",
];

export interface LoggerOptions {
  name: string;
  level: string;
  format: "json" | "pretty";
  /** Where JSON lines go (stdout by default); tests pass a stream to read them back. */
  destination?: DestinationStream;
}

const EMAIL_ADDRESS = /([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)/g;

/**
 * Masks every email address in free text (`bob@example.org` → `b***@example.org`). For text from
 * outside that may quote a customer's address (SMTP replies) before it reaches logs or errors.
 */
export function maskEmailAddresses(text: string): string {
  return text.replace(EMAIL_ADDRESS, "$1***@$2");
}

export function createLogger(opts: LoggerOptions): Logger {
  const options = {
    name: opts.name,
    level: opts.level,
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    // Inside a traced request or step, every line carries trace_id and span_id.
    mixin: activeTraceIds,
    ...(opts.format === "pretty"
      ? { transport: { target: "pino-pretty", options: { colorize: true, translateTime: "HH:MM:ss.l", ignore: "pid,hostname" } } }
      : {}),
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}
