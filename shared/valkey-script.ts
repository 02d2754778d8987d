/**
 * Lua scripts as ioredis commands: `defineCommand` sends the script once per connection (EVAL)
 * and its SHA1 from then on (EVALSHA), reloading it by itself when the server lost it (NOSCRIPT).
 * Every key a script reads or writes is passed in KEYS, never built inside Lua, so a cluster or a
 * proxy can see which slots a call touches; on a cluster they must all share one slot (one hash
 * tag), which the cluster checks before it runs the script.
 */
import type { ValkeyClient } from "./valkey-client.ts";

export type ValkeyArg = string | number;

/** Runs the script with these keys (KEYS) and arguments (ARGV); the reply is unchecked. */
export type ValkeyScript = (keys: readonly string[], args: readonly ValkeyArg[]) => Promise<unknown>;

type ScriptCommand = (numberOfKeys: number, ...keysThenArgs: ValkeyArg[]) => Promise<unknown>;

/** Defines the command on this connection (idempotent per name) and returns a typed caller. */
export function defineScript(redis: ValkeyClient, name: string, lua: string): ValkeyScript {
  const commands = redis as unknown as Record<string, ScriptCommand | undefined>;
  // No fixed numberOfKeys: each call says how many keys it passes, so one script serves any count.
  if (typeof commands[name] !== "function") redis.defineCommand(name, { lua });
  const command = commands[name];
  if (typeof command !== "function") throw new Error(`Valkey script ${name} was not defined`);
  return (keys, args) => command.call(redis, keys.length, ...keys, ...args);
}
