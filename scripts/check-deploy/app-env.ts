/** What the manifests set must be what the processes accept: the env against the web and worker config schemas. */
import { webConfigSchema } from "../../shared/web-config.schema.ts";
import { workerConfigSchema } from "../../shared/worker-config.schema.ts";
import { read, STANDARD_VARS, zodProblems } from "./deploy-files.ts";

export const documentedVars = (): Set<string> =>
  new Set([...read(".env.example").matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!).concat(STANDARD_VARS));

/** Problems the processes would report for this environment, plus variables nobody reads. */
export function appEnvProblems(where: string, env: Record<string, string>, processes: Array<"web" | "worker">): string[] {
  const problems: string[] = [];
  const known = documentedVars();
  for (const k of Object.keys(env))
    if (!known.has(k)) problems.push(`${where}: ${k} is not a variable the app reads (.env.example)`);
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ""));
  for (const p of processes) {
    const r = (p === "web" ? webConfigSchema : workerConfigSchema).safeParse(cleaned);
    problems.push(...zodProblems(`${where} (${p})`, r));
  }
  return problems;
}
