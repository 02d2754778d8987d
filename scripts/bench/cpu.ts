/** CPU time per process (and its children, for PostgreSQL's backends) from /proc: who is busy during a scenario. */
import { readdirSync, readFileSync } from "node:fs";

function stat(pid: number): { ppid: number; seconds: number; children: number } | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    // utime, stime; cutime, cstime: children that already exited (PostgreSQL backends come and go).
    return {
      ppid: Number(fields[1]),
      seconds: (Number(fields[11]) + Number(fields[12])) / 100,
      children: (Number(fields[13]) + Number(fields[14])) / 100,
    };
  } catch {
    return null;
  }
}

/** utime + stime in seconds of each named process; PostgreSQL with its backends (its direct children). */
export function cpuSeconds(pids: Record<string, number | undefined>): Record<string, number> {
  const all = readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map((d) => ({ pid: Number(d), s: stat(Number(d)) }));
  const out: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) {
    if (pid === undefined) continue;
    const withChildren = name === "postgres";
    out[name] = all
      .filter((p) => p.pid === pid || (withChildren && p.s?.ppid === pid))
      .reduce((sum, p) => sum + (p.s?.seconds ?? 0) + (withChildren && p.pid === pid ? (p.s?.children ?? 0) : 0), 0);
  }
  return out;
}

/** Runs `fn` and reports each process's CPU use during it, in % of one core. */
export async function withCpu<T>(
  pids: () => Record<string, number | undefined>,
  fn: () => Promise<T>,
): Promise<{ value: T; cpu: Record<string, number> }> {
  const before = cpuSeconds(pids());
  const started = performance.now();
  const value = await fn();
  const seconds = (performance.now() - started) / 1000;
  const after = cpuSeconds(pids());
  const cpu: Record<string, number> = {};
  for (const name of Object.keys(after)) cpu[name] = (100 * ((after[name] ?? 0) - (before[name] ?? 0))) / seconds;
  return { value, cpu };
}
