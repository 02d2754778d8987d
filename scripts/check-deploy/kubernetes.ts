/** The production rules every rendered set of Kubernetes objects must satisfy. */
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { Job } from "kubernetes-models/batch/v1/Job";
import { Ingress } from "kubernetes-models/networking.k8s.io/v1/Ingress";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IProbe } from "kubernetes-models/v1/Probe";
import { GRACE_SECONDS, pinProblem, WEB, WORKER } from "./deploy-files.ts";
import { podTemplate, type KubeObject } from "./kustomize-render.ts";

export const componentOf = (o: KubeObject): string => o.metadata?.labels?.["app.kubernetes.io/component"] ?? "";
export const nameOf = (o: KubeObject): string => `${o.kind} ${o.metadata?.name ?? "(unnamed)"}`;

/** An env value of a container: its own `env` first, then the ConfigMaps it loads with envFrom. */
export function envValue(c: IContainer, name: string, configMaps: Map<string, Record<string, string>>): string | undefined {
  const direct = c.env?.find((e) => e.name === name);
  if (direct) return direct.value;
  for (const from of c.envFrom ?? []) {
    const data = from.configMapRef ? configMaps.get(from.configMapRef.name ?? "") : undefined;
    if (data?.[name] !== undefined) return data[name];
  }
  return undefined;
}

export function probePort(p: IProbe | undefined, c: IContainer): number | undefined {
  const port = p?.httpGet?.port;
  if (typeof port === "number") return port;
  return c.ports?.find((x) => x.name === port)?.containerPort;
}

export const EXPECTED_PROBES: Record<string, { port: number; startup: string[]; liveness: string[]; readiness: string[] }> = {
  web: { port: WEB.http, startup: ["/startup"], liveness: ["/live"], readiness: ["/ready"] },
  worker: { port: WORKER.probes, startup: ["/startup", "/live"], liveness: ["/live"], readiness: ["/ready"] },
};

export function podProblems(o: KubeObject, configMaps: Map<string, Record<string, string>>): string[] {
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

export const matches = (selector: Record<string, string> | undefined, labels: Record<string, string>): boolean =>
  !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

/** Every rule the rendered objects of one `kubectl apply -k` must satisfy; [] when they do. */
export function kubeProblems(
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
export function registrationProblems(objects: KubeObject[]): string[] {
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
