/**
 * Every check of deploy/ as it is in the repository, by artifact: each returns the problems it
 * finds ([] when the artifact is fine). `npm run check:deploy` prints them; test/deploy.test.ts runs
 * each as a test and feeds the same checkers broken inputs.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Secret } from "kubernetes-models/v1/Secret";
import { z } from "zod";
import { appEnvProblems } from "./app-env.ts";
import { caddyfileProblems } from "./caddyfile.ts";
import { composeFile, composeProblems, interpolate } from "./compose.ts";
import { DEPLOY, K8S, read, rel, ROOT, SECRET_TEMPLATE, walk, yamlDocs, yamlRole, zodProblems } from "./deploy-files.ts";
import { closure, dockerfileProblems, IMAGES } from "./dockerfile.ts";
import { kubeProblems } from "./kubernetes.ts";
import { networkPolicyProblems } from "./network-policies.ts";
import { kubeObject, kustomizationSchema, podTemplate, render, type KubeObject } from "./kustomize-render.ts";
import { otelCollectorProblems } from "./otel-collector.ts";
import { restateValuesSchema } from "./restate-values.ts";

const allFiles = walk(DEPLOY);
const yamlFiles = allFiles.filter((f) => /\.ya?ml$/.test(f));

function rendersDir(parent: string, child: string): boolean {
  const { docs } = yamlDocs(path.join(parent, "kustomization.yaml"));
  const parsed = kustomizationSchema.safeParse(docs[0]);
  return parsed.success && parsed.data.resources.some((r) => path.join(parent, r) === child);
}

/** The kustomization directories nobody else includes: what `kubectl apply -k` is run on. */
function renderedRoots() {
  const dirs = yamlFiles.filter((f) => yamlRole(f) === "kustomization").map((f) => path.dirname(f));
  return dirs.filter((d) => !dirs.some((other) => other !== d && rendersDir(other, d))).map((d) => ({ dir: d, ...render(d) }));
}
const EXPECTED_ROOTS = ["deploy/k8s", "deploy/k8s/migrate"];
const secretTemplate = () => new Secret(yamlDocs(SECRET_TEMPLATE).docs[0] as never);
/** What a filled-in secret looks like where "40 random characters" would not do. */
export const SAMPLE_SECRETS: Record<string, string> = {
  RESTATE_IDENTITY_KEYS: "publickeyv1_2m8tZhuvAR2NfkGVoGUoTagAe8bvRLoK7ZzVchLJm9rc",
  STRIPE_WEBHOOK_SECRETS: `whsec_${"s".repeat(32)}`,
};
const sampleSecret = (name: string): string => SAMPLE_SECRETS[name] ?? "s".repeat(40);
const same = (what: string, got: unknown, want: unknown): string[] =>
  JSON.stringify(got) === JSON.stringify(want) ? [] : [`${what}: ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`];

function yamlFilesProblems(): string[] {
  const problems = yamlFiles.flatMap((f) => [...yamlDocs(f).problems, ...(yamlRole(f) ? [] : [`${rel(f)}: no known role`])]);
  if (yamlFiles.length < 12) problems.push(`only ${yamlFiles.length} YAML files found`);
  return problems;
}

function kubeSchemaProblems(): string[] {
  return yamlFiles
    .filter((f) => yamlRole(f) === "kubernetes")
    .flatMap((f) => {
      const y = yamlDocs(f);
      return [...y.problems, ...y.docs.flatMap((doc, i) => kubeObject(doc, `${rel(f)}#${i + 1}`).problems)];
    });
}

function kustomizationProblems(): string[] {
  const roots = renderedRoots();
  const problems = [
    ...same(
      "rendered roots",
      roots.map((r) => rel(r.dir)),
      EXPECTED_ROOTS,
    ),
    ...roots.flatMap((r) => r.problems),
  ];
  const applied = new Set(roots.flatMap((r) => [...r.files]));
  for (const f of yamlFiles) {
    if (["kubernetes", "kustomization"].includes(yamlRole(f) ?? "") && !applied.has(f) && f !== SECRET_TEMPLATE)
      problems.push(`${rel(f)} is applied by no kustomization`);
  }
  if (applied.has(SECRET_TEMPLATE)) problems.push("the Secret template must never be applied over the real Secret");
  return problems;
}

function renderedObjectProblems(): string[] {
  const roots = renderedRoots();
  const main = roots.find((r) => rel(r.dir) === "deploy/k8s");
  const migrate = roots.find((r) => rel(r.dir) === "deploy/k8s/migrate");
  if (!main || !migrate) return [`not rendered: ${EXPECTED_ROOTS.join(", ")}`];
  const configMaps = new Map(
    main.objects.filter((o) => o instanceof ConfigMap).map((o) => [o.metadata?.name ?? "", o.data ?? {}]),
  );
  const secrets = [secretTemplate().metadata?.name ?? ""];
  const problems = roots.flatMap((r) => kubeProblems(r.objects, { secrets, configMaps }).map((p) => `${rel(r.dir)}: ${p}`));
  const kinds = main.objects.map((o) => `${o.kind}/${o.metadata?.name ?? ""}`).sort();
  for (const want of [
    "Deployment/web",
    "Deployment/worker-v1",
    "Job/register-v1",
    "Service/worker-v1",
    "Ingress/web",
    "CronJob/pg-backup",
  ]) {
    if (!kinds.includes(want)) problems.push(`${want} is not rendered: ${kinds.join(", ")}`);
  }
  // The migration Job is applied on its own, first: it must run the web image of the release being rolled.
  const imageOf = (objects: KubeObject[], kind: string, name: string): string | undefined => {
    const o = objects.find((x) => x.kind === kind && x.metadata?.name === name);
    return o ? podTemplate(o)?.spec.containers[0]?.image : undefined;
  };
  problems.push(
    ...same("the migrate Job's image", imageOf(migrate.objects, "Job", "migrate"), imageOf(main.objects, "Deployment", "web")),
  );
  return problems;
}

function k8sAppEnvProblems(): string[] {
  const main = renderedRoots().find((r) => rel(r.dir) === "deploy/k8s");
  const config = main?.objects.find((o) => o instanceof ConfigMap)?.data ?? {};
  const template = secretTemplate();
  const secretKeys = Object.keys(template.stringData ?? {});
  // Real secrets have the right shape; the template's placeholders deliberately do not (checked below).
  const secrets = Object.fromEntries(
    secretKeys.map((k) => [k, k.endsWith("_URL") ? (template.stringData?.[k] ?? "") : sampleSecret(k)]),
  );
  const problems = appEnvProblems("k8s", { ...config, ...secrets }, ["web", "worker"]);
  const asTemplated = appEnvProblems("template", { ...config, ...template.stringData }, ["web"]);
  if (!asTemplated.some((p) => p.includes("SESSION_SECRET")))
    problems.push("the template's placeholder SESSION_SECRET must be refused by the app");
  const workerAsTemplated = appEnvProblems("template", { ...config, ...template.stringData }, ["worker"]);
  if (!workerAsTemplated.some((p) => p.includes("RESTATE_IDENTITY_KEYS")))
    problems.push("the template's placeholder RESTATE_IDENTITY_KEYS must be refused by the worker");
  return problems;
}

function k8sNetworkPolicyProblems(): string[] {
  const main = renderedRoots().find((r) => rel(r.dir) === "deploy/k8s");
  return main ? networkPolicyProblems(main.objects) : ["deploy/k8s is not rendered"];
}

function restateValuesProblems(): string[] {
  const { docs } = yamlDocs(path.join(K8S, "restate-values.yaml"));
  return zodProblems("restate-values", restateValuesSchema.safeParse(docs[0]));
}

function otelCollectorFileProblems(): string[] {
  return otelCollectorProblems(yamlDocs(path.join(DEPLOY, "otel-collector.yaml")).docs[0]);
}

const composeDoc = () => yamlDocs(path.join(DEPLOY, "compose.prod.yaml")).docs[0];

/** The variables of prod.env.example, as written there (secrets empty). */
const prodEnvExample = (): Record<string, string> =>
  Object.fromEntries([...read("deploy/prod.env.example").matchAll(/^([A-Z0-9_]+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));

function composeEnvProblems(): string[] {
  const text = read("deploy/compose.prod.yaml");
  const required = [...new Set([...text.matchAll(/\$\{([A-Z0-9_]+):\?/g)].map((m) => m[1]!))].sort();
  const example = prodEnvExample();
  const problems = required.filter((v) => !(v in example)).map((v) => `${v} is required but not in prod.env.example`);
  const vars = Object.fromEntries(Object.entries(example).map(([k, v]) => [k, v || sampleSecret(k)]));
  const services = composeFile.parse(composeDoc()).services;
  const envOf = (name: string): Record<string, string> =>
    Object.fromEntries(
      Object.entries(services[name]?.environment ?? {}).map(([k, v]) => [k, interpolate(String(v ?? ""), vars)]),
    );
  problems.push(
    ...appEnvProblems("compose web", envOf("web"), ["web"]),
    ...appEnvProblems("compose worker", envOf("worker"), ["worker"]),
  );
  try {
    interpolate(String(services["web"]?.environment?.["SESSION_SECRET"]), {});
    problems.push("web: SESSION_SECRET is not a required variable");
  } catch (err) {
    if (!/SESSION_SECRET is required/.test(String(err))) throw err;
  }
  return problems;
}

function imageProblems(file: string): string[] {
  const spec = IMAGES[file]!;
  const ignore = path.join(ROOT, `${file}.dockerignore`);
  return dockerfileProblems(read(file), spec, existsSync(ignore) ? readFileSync(ignore, "utf8") : undefined);
}

function imagePackageProblems(file: string): string[] {
  const pkg = z.object({ dependencies: z.record(z.string(), z.string()) }).parse(JSON.parse(read("package.json")));
  return [...closure(IMAGES[file]!.entrypoints).packages]
    .filter((p) => !(p in pkg.dependencies))
    .map((p) => `${p} is imported at runtime but is not a production dependency (npm ci --omit=dev would not install it)`);
}

/** Each check by what it promises, grouped by artifact. */
export const deployChecks: Record<string, Record<string, () => string[]>> = {
  "deploy/ YAML": {
    "every YAML file parses and has a known role": yamlFilesProblems,
    "every Kubernetes document validates against its schema (kubernetes-models), unknown kinds refused": kubeSchemaProblems,
    "the kustomizations render, and every manifest is applied by one (except the Secret template)": kustomizationProblems,
    "the rendered objects follow the production rules": renderedObjectProblems,
    "the ConfigMap and the Secret's keys are accepted by the web and worker config schemas": k8sAppEnvProblems,
    "NetworkPolicies: only Restate reaches the workers, only web and worker the ingress, only operations the admin API":
      k8sNetworkPolicyProblems,
    "the Restate Helm values describe a replicated 3-node cluster": restateValuesProblems,
    "the OpenTelemetry Collector pipelines only use components it defines": otelCollectorFileProblems,
  },
  "deploy/compose.prod.yaml": {
    "validates against the Compose schema and the production rules": () => composeProblems(composeDoc()),
    "every required variable is in prod.env.example, and the app accepts the resulting environment": composeEnvProblems,
  },
  "deploy/Caddyfile": {
    "Caddy accepts it (`caddy validate`, with prod.env.example's values) and it proxies to web with immediate flushing and no compression of SSE":
      () => caddyfileProblems(read("deploy/Caddyfile"), prodEnvExample()),
  },
  "deploy/Dockerfile.*": Object.fromEntries(
    Object.keys(IMAGES).flatMap((file) => [
      [
        `${file}: pinned Node 24 slim base, non-root, HEALTHCHECK, and everything the entrypoints import`,
        () => imageProblems(file),
      ],
      [`${file}: every package its entrypoints import is a production dependency`, () => imagePackageProblems(file)],
    ]),
  ),
};
