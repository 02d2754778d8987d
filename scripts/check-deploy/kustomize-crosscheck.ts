/**
 * The real kustomize against our renderer (kustomize-render.ts says why there are two): where a
 * kubectl with kustomize v5 or newer is on PATH, `kubectl kustomize <dir>` must render exactly the
 * objects `render(dir)` does, so the renderer cannot drift from the tool unnoticed.
 */
import { spawnSync } from "node:child_process";
import { isDeepStrictEqual } from "node:util";
import { parseAllDocuments } from "yaml";
import { z } from "zod";
import { isDict, rel } from "./deploy-files.ts";
import type { KubeObject } from "./kustomize-render.ts";

const identity = z.object({ kind: z.string(), metadata: z.object({ name: z.string(), namespace: z.string().optional() }) });

/** Why `kubectl kustomize` cannot render these manifests here, or null when it can. */
export function kubectlKustomizeMissing(): string | null {
  const out = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" });
  if (out.error || out.status !== 0) return "no kubectl on PATH";
  const version = /Kustomize Version: v(\d+)/.exec(out.stdout);
  if (!version || Number(version[1]) < 5) return "the kubectl on PATH has no kustomize v5 (`labels` with `includeTemplates`)";
  return null;
}

/** Where `kubectl kustomize dir` and our rendering of it (`ours`) disagree, object by object. */
export function kustomizeDrift(dir: string, ours: KubeObject[]): string[] {
  const out = spawnSync("kubectl", ["kustomize", dir], { encoding: "utf8" });
  if (out.status !== 0) return [`kubectl kustomize ${rel(dir)}: ${out.stderr.trim()}`];
  // Array.from, not .map: on the union parseAllDocuments returns, .map drops the callback's `unknown`.
  const real = Array.from(parseAllDocuments(out.stdout), (d): unknown => d.toJS());
  const plain = ours.map((o): unknown => JSON.parse(JSON.stringify(o)));
  const key = (o: unknown): string => {
    const { kind, metadata } = identity.parse(o);
    return `${kind} ${metadata.namespace ?? ""}/${metadata.name}`;
  };
  const problems: string[] = [];
  for (const r of real) {
    const o = plain.find((x) => key(x) === key(r));
    if (!o) problems.push(`${rel(dir)}: ${key(r)} is rendered by kubectl kustomize only`);
    else if (!isDeepStrictEqual(o, r)) problems.push(`${rel(dir)}: ${key(r)} differs at ${difference(o, r)}`);
  }
  for (const o of plain)
    if (!real.some((r) => key(r) === key(o))) problems.push(`${rel(dir)}: ${key(o)} is rendered by ours only`);
  return problems;
}

/** The first path where `ours` and `real` differ, with both values. */
function difference(ours: unknown, real: unknown, at = ""): string {
  if (isDict(ours) && isDict(real)) {
    for (const k of new Set([...Object.keys(ours), ...Object.keys(real)]))
      if (!isDeepStrictEqual(ours[k], real[k])) return difference(ours[k], real[k], `${at}.${k}`);
  }
  if (Array.isArray(ours) && Array.isArray(real) && ours.length === real.length) {
    const i = ours.findIndex((v, n) => !isDeepStrictEqual(v, real[n]));
    return difference(ours[i], real[i], `${at}[${i}]`);
  }
  return `${at || "(root)"}: ours ${JSON.stringify(ours)}, kubectl kustomize ${JSON.stringify(real)}`;
}
