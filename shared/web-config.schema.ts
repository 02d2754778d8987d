/** The web's environment: one zod schema, parsed once at start-up (shared/config.ts's loader). */
import { z } from "zod";
import { bool, common, links, port, refineLinks, refineLogging } from "./common-config.schema.ts";
import { refineWebhooks, webPayments } from "./payment-config.schema.ts";

const DEV_SESSION_SECRET = "dev-only-session-secret-change-me-0123456789";

export const webConfigSchema = z
  .object({
    ...common,
    ...links,
    ...webPayments,
    WEB_HOST: z.string().min(1).default("127.0.0.1"),
    WEB_PORT: port.default(3000),
    RESTATE_INGRESS_URL: z.url().default("http://127.0.0.1:8080"),
    RESTATE_UI_URL: z.url().optional(),
    MAIL_UI_URL: z.url().optional(),
    SESSION_SECRET: z.string().min(32, "must be at least 32 characters").default(DEV_SESSION_SECRET),
    SESSION_TTL_SECONDS: z.coerce
      .number()
      .int()
      .min(60)
      .default(7 * 86_400),
    SSE_KEEPALIVE_MS: z.coerce.number().int().min(100).default(15_000),
    // SSE hardening (web/progress/sse-streams.ts): streams end after about this long and the browser reconnects.
    SSE_MAX_DURATION_MS: z.coerce
      .number()
      .int()
      .min(100)
      .default(15 * 60_000),
    // Bytes allowed to wait for a client that does not read; past it the stream is closed (it replays on reconnect).
    SSE_MAX_BUFFER_BYTES: z.coerce
      .number()
      .int()
      .min(1)
      .default(256 * 1024),
    // The `retry:` hint sent when the server ends a stream early (maximum duration, shutdown).
    SSE_RETRY_MS: z.coerce.number().int().min(0).default(2_000),
    SSE_MAX_PER_SESSION: z.coerce.number().int().min(1).default(6),
    // A stream that heard nothing this long reads its order's row and sends what it missed (0: never).
    SSE_QUIET_CHECK_MS: z.coerce.number().int().min(0).default(5_000),
    // How often the operators' live feed reads which orders moved, to send those whose messages it missed (0: never).
    OPS_FEED_CHECK_MS: z.coerce.number().int().min(0).default(5_000),
    SSE_MAX_PER_IP: z.coerce.number().int().min(1).default(200),
    // Bench only: one Valkey subscriber connection per SSE stream, to measure the shared one against it.
    SSE_NAIVE_SUBSCRIBER: bool.default(false),
    READY_CACHE_MS: z.coerce.number().int().min(0).default(2_000),
    APPROVAL_THRESHOLD_CENTS: z.coerce.number().int().min(1).default(50_000),
    ORDER_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(30),
    LOGIN_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(5),
    // "Email me my orders": requests per session per minute (10x that per client address), and
    // messages per email address per hour (past it, the same answer but nothing is sent).
    ORDER_LOOKUP_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(5),
    ORDER_LOOKUP_PER_ADDRESS_PER_HOUR: z.coerce.number().int().min(1).default(3),
    WEB_METRICS_PORT: port.default(9464),
    REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).default(15_000),
    WEB_AUTO_MIGRATE: bool.default(false),
    ALLOW_WEB_AUTO_MIGRATE: bool.optional(),
  })
  .superRefine(refineLogging)
  .superRefine(refineLinks)
  .superRefine(refineWebhooks)
  .superRefine((c, ctx) => {
    if (c.SSE_NAIVE_SUBSCRIBER && c.VALKEY_CLUSTER_NODES) {
      const message = "is a single-server bench switch: it cannot be combined with VALKEY_CLUSTER_NODES";
      ctx.addIssue({ code: "custom", path: ["SSE_NAIVE_SUBSCRIBER"], message });
    }
    if (c.APP_PROFILE === "prod" && c.WEB_AUTO_MIGRATE && c.ALLOW_WEB_AUTO_MIGRATE !== true) {
      const message =
        "migrating from the web is refused in prod (run `npm run migrate` as its own step) unless ALLOW_WEB_AUTO_MIGRATE=true";
      ctx.addIssue({ code: "custom", path: ["WEB_AUTO_MIGRATE"], message });
    }
    if (c.APP_PROFILE === "prod" && c.SESSION_SECRET === DEV_SESSION_SECRET) {
      ctx.addIssue({ code: "custom", path: ["SESSION_SECRET"], message: "the development default is refused in prod" });
    }
  });
export type WebConfig = z.infer<typeof webConfigSchema>;
