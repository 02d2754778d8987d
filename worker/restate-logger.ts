/**
 * The Restate SDK's log lines, through the worker's pino logger instead of the console. The SDK
 * writes two lines per invocation at info ("Starting invocation", "Invocation completed") to a
 * synchronous console: at info they were nearly all of the worker's log (1,498 of 1,505 lines in one
 * orders bench) and a visible share of its CPU. Here the SDK's own lifecycle lines go to debug, the
 * handlers' `ctx.console` lines keep their level, and nothing is logged while a journal replays.
 */
import type * as restate from "@restatedev/restate-sdk";
import type { Logger } from "../shared/logger.ts";

type Level = "trace" | "debug" | "info" | "warn" | "error";

export function restateLogger(logger: Logger): restate.LoggerTransport {
  const log = logger.child({ component: "restate" });
  // Messages are whatever a handler passed to ctx.console (`any` in the SDK's type): read as unknown.
  return (meta, message: unknown, ...rest: unknown[]) => {
    if (meta.replaying) return;
    // The SDK's own chatter is debug; its warnings and errors (a failed attempt, a retry) stay.
    // Its lifecycle lines come as "JOURNAL" (or "SYSTEM"), a handler's `ctx.console` as "USER".
    // (The SDK's enums are types only at runtime: compare their string values.)
    const fromHandler = String(meta.source) === "USER";
    const given = String(meta.level) as Level;
    const level: Level = !fromHandler && (given === "info" || given === "debug") ? "debug" : given;
    if (!log.isLevelEnabled(level)) return;
    const err = [message, ...rest].find((v): v is Error => v instanceof Error);
    const text = [message, ...rest]
      .filter((v) => !(v instanceof Error))
      .map((v) => (typeof v === "string" ? v : JSON.stringify(v)))
      .join(" ");
    const ctx = meta.context;
    log[level](
      {
        ...(ctx ? { invocationId: ctx.invocationId, target: ctx.invocationTarget } : {}),
        ...(err ? { err } : {}),
      },
      text,
    );
  };
}
