/** deploy/Dockerfile.*: pinned Node 24 slim bases, non-root, HEALTHCHECK, and every file the entrypoints import copied in. */
import { builtinModules } from "node:module";
import path from "node:path";
import { read, WEB, WORKER, pinProblem } from "./deploy-files.ts";

export interface Instruction {
  op: string;
  args: string;
  stage: number;
}

export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = -1;
  const logical = text.replace(/\\\r?\n/g, " ").split("\n");
  for (const line of logical) {
    const t = line.trim();
    if (!t || t.startsWith("#")) continue;
    const [op = "", ...rest] = t.split(/\s+/);
    if (op.toUpperCase() === "FROM") stage++;
    out.push({ op: op.toUpperCase(), args: rest.join(" "), stage });
  }
  return out;
}

export interface ImageSpec {
  entrypoints: string[];
  /** Loaded with `--import` before the first entrypoint (tracing must patch libraries before they load). */
  preload: string;
  ports: number[];
  healthUrl: string;
}
export const IMAGES: Record<string, ImageSpec> = {
  "deploy/Dockerfile.web": {
    entrypoints: ["web/main.ts", "migrations/migrate.ts", "web/operators/operator.command.ts"],
    preload: "shared/telemetry-register.ts",
    ports: [WEB.http, WEB.metrics],
    healthUrl: `:${WEB.http}/`,
  },
  "deploy/Dockerfile.worker": {
    entrypoints: ["worker/main.ts", "worker/register.command.ts"],
    preload: "shared/telemetry-register.ts",
    ports: [WORKER.restate, WORKER.probes],
    healthUrl: `:${WORKER.probes}/`,
  },
};

/** COPY sources (from the build context) of the final stage. */
export function copiedPaths(ins: Instruction[]): string[] {
  const last = Math.max(...ins.map((i) => i.stage));
  return ins
    .filter((i) => i.op === "COPY" && i.stage === last && !i.args.includes("--from="))
    .flatMap((i) =>
      i.args
        .split(/\s+/)
        .filter((a) => !a.startsWith("--"))
        .slice(0, -1),
    );
}

export function dockerfileProblems(text: string, spec: ImageSpec, dockerignore: string | undefined): string[] {
  const ins = parseDockerfile(text);
  const problems: string[] = [];
  const last = Math.max(...ins.map((i) => i.stage));
  const final = ins.filter((i) => i.stage === last);
  for (const from of ins.filter((i) => i.op === "FROM")) {
    const image = from.args.split(/\s+/)[0] ?? "";
    const stages = ins.filter((i) => i.op === "FROM").map((i) => /\bAS\s+(\S+)/i.exec(i.args)?.[1]);
    if (stages.includes(image)) continue;
    const pin = pinProblem(image);
    if (pin) problems.push(`FROM ${pin}`);
    else if (!/^node:24\.\d+\.\d+-[a-z]+-slim(@sha256:[0-9a-f]{64})?$/.test(image))
      problems.push(`FROM ${image} is not a Node 24 slim image`);
  }
  if (last < 1) problems.push("not multi-stage");
  const runs = ins.filter((i) => i.op === "RUN").map((i) => i.args);
  if (!runs.some((r) => /npm ci\b.*--omit=dev/.test(r) && r.includes("--ignore-scripts")))
    problems.push("no `npm ci --omit=dev --ignore-scripts`");
  if (runs.some((r) => /npm (install|i)\b/.test(r))) problems.push("uses npm install (not reproducible)");
  const user = final.filter((i) => i.op === "USER").at(-1)?.args;
  if (!user) problems.push("final stage has no USER (runs as root)");
  else if (/^(root|0)(:|$)/.test(user)) problems.push(`final stage runs as ${user}`);
  else if (!/^\d+(:\d+)?$/.test(user)) problems.push(`USER ${user} is not numeric (Kubernetes cannot verify runAsNonRoot)`);
  const health = final.find((i) => i.op === "HEALTHCHECK")?.args ?? "";
  if (!health) problems.push("no HEALTHCHECK");
  else if (!health.includes("deploy/healthcheck.mjs") || !health.includes(spec.healthUrl))
    problems.push(`HEALTHCHECK does not probe ${spec.healthUrl}`);
  if (final.find((i) => i.op === "STOPSIGNAL")?.args !== "SIGTERM") problems.push("STOPSIGNAL is not SIGTERM");
  const exposed = final.filter((i) => i.op === "EXPOSE").flatMap((i) => i.args.split(/\s+/).map((p) => Number(p.split("/")[0])));
  for (const p of spec.ports) if (!exposed.includes(p)) problems.push(`port ${p} is not exposed`);
  const cmd = final.find((i) => i.op === "CMD")?.args ?? "";
  const expectedCmd = JSON.stringify(["node", `--import=./${spec.preload}`, spec.entrypoints[0]]).replace(/,/g, ", ");
  if (cmd !== expectedCmd) problems.push(`CMD is not ${expectedCmd} (exec form)`);
  const copied = copiedPaths(ins);
  for (const f of closure([...spec.entrypoints, spec.preload]).files) {
    if (!copied.some((c) => c === "." || f === c || f.startsWith(`${c.replace(/\/$/, "")}/`)))
      problems.push(`${f} is imported at runtime but not copied`);
  }
  if (dockerignore === undefined) problems.push("no .dockerignore next to the Dockerfile");
  else for (const c of copied) if (!admitted(dockerignore, c)) problems.push(`COPY ${c} is excluded by the .dockerignore`);
  return problems;
}

/** Whether an allowlist-style .dockerignore (`*` then `!path` lines) lets `file` into the build context. */
export function admitted(dockerignore: string, file: string): boolean {
  const lines = dockerignore
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  let included = true;
  for (const l of lines) {
    const negated = l.startsWith("!");
    const pattern = (negated ? l.slice(1) : l).replace(/\/$/, "");
    const regex = new RegExp(
      `^${pattern
        .replace(/[.+^$()|[\]]/g, "\\$&")
        .replace(/\*\*\//g, "\0")
        .replace(/\*/g, "[^/]*")
        .replace(/\0/g, "(.*/)?")}(/.*)?$`,
    );
    if (regex.test(file.replace(/\/$/, ""))) included = negated;
  }
  return included;
}

/** Files and packages the entrypoints load at runtime: value imports only (`import type` is erased). */
export function closure(entrypoints: string[]): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const queue = [...entrypoints];
  const importRe =
    /^\s*(?:import|export)\s+(?!type\s)([\s\S]*?)\s+from\s+["']([^"']+)["']|^\s*import\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/gm;
  while (queue.length) {
    const file = queue.shift()!;
    if (files.has(file)) continue;
    files.add(file);
    const text = read(file);
    for (const m of text.matchAll(importRe)) {
      const spec = m[2] ?? m[3] ?? m[4] ?? "";
      const clause = m[1] ?? "";
      if (
        m[2] &&
        /^\{[^}]*\}$/.test(clause.trim()) &&
        clause
          .replace(/[{}\s]/g, "")
          .split(",")
          .every((n) => n.startsWith("type"))
      )
        continue;
      if (spec.startsWith(".")) queue.push(path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)));
      else if (!spec.startsWith("node:") && !builtinModules.includes(spec)) {
        packages.add(spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : (spec.split("/")[0] ?? spec));
      }
    }
  }
  return { files, packages };
}
