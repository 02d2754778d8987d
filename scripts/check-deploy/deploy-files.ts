/**
 * What the processes promise (ports, probe paths, the drain budget) and how deploy/ is read: the
 * files, their YAML documents and roles, and the rules shared by every artifact (pinned images).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import type { z } from "zod";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const DEPLOY = path.join(ROOT, "deploy");
export const K8S = path.join(DEPLOY, "k8s");
export const read = (file: string): string => readFileSync(path.join(ROOT, file), "utf8");

/** What the processes promise (the brief's facts): ports, probe paths, the drain budget. */
export const WEB = { http: 3000, metrics: 9464 };
export const WORKER = { restate: 9080, probes: 9465 };
export const GRACE_SECONDS = 30;
/** Standard OpenTelemetry SDK variables the manifests set although `.env.example` (the app's own list) does not name them. */
export const STANDARD_VARS = ["OTEL_SERVICE_NAME"];

export type Dict = Record<string, unknown>;
export const isDict = (v: unknown): v is Dict => typeof v === "object" && v !== null && !Array.isArray(v);
export const rel = (file: string): string => path.relative(ROOT, file);

// Files

export function walk(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const full = path.join(dir, name);
      return statSync(full).isDirectory() ? walk(full) : [full];
    });
}

/** Every YAML document in a file (multi-document aware); a syntax error is a problem, not a crash. */
export function yamlDocs(file: string, text = readFileSync(file, "utf8")): { docs: unknown[]; problems: string[] } {
  const docs: unknown[] = [];
  const problems: string[] = [];
  for (const d of parseAllDocuments(text, { merge: true })) {
    for (const e of d.errors) problems.push(`${rel(file)}: YAML: ${e.message}`);
    const value: unknown = d.toJS();
    if (value !== null && value !== undefined) docs.push(value);
  }
  return { docs, problems };
}

export type YamlRole = "compose" | "otel-collector" | "helm-values" | "kustomization" | "kubernetes";
export const SECRET_TEMPLATE = path.join(K8S, "secret.template.yaml");

export function yamlRole(file: string): YamlRole | undefined {
  const r = rel(file);
  if (r === "deploy/compose.prod.yaml") return "compose";
  if (r === "deploy/otel-collector.yaml") return "otel-collector";
  if (r === "deploy/k8s/restate-values.yaml") return "helm-values";
  if (path.basename(file) === "kustomization.yaml") return "kustomization";
  if (r.startsWith("deploy/k8s/")) return "kubernetes";
  return undefined;
}

// Images

export const EXACT_VERSION = /^v?\d+\.\d+(\.\d+)?(-[a-z0-9.-]+)?$/;
export const REQUIRED_VAR = /^\$\{[A-Z0-9_]+:\?[^}]*\}$/;

/** Why `image` is not pinned, or undefined: an exact major.minor[.patch] tag, a digest, or (compose) a required release variable. */
export function pinProblem(image: string): string | undefined {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return undefined;
  const slash = image.lastIndexOf("/");
  const colon = image.indexOf(":", slash === -1 ? 0 : slash);
  const tag = colon === -1 ? "" : image.slice(colon + 1);
  if (tag === "") return `image ${image} has no tag`;
  if (tag === "latest") return `image ${image} uses latest`;
  if (REQUIRED_VAR.test(tag)) return undefined;
  return EXACT_VERSION.test(tag) ? undefined : `image ${image}: tag "${tag}" is not an exact version`;
}

export const zodProblems = (where: string, r: { success: boolean; error?: z.ZodError }): string[] =>
  r.error ? r.error.issues.map((i) => `${where}: ${i.path.join(".") || "(root)"}: ${i.message}`) : [];
