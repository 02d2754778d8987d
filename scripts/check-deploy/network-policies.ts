/**
 * Who may connect to what, read from the rendered NetworkPolicies: only Restate reaches the
 * workers' Restate port, only the web and the worker reach Restate's ingress, only operations (and
 * the registration Jobs) its admin API, only Restate nodes (and operations) its node port.
 * NetworkPolicies add up, so every policy that selects a pod counts, and any source one of them
 * lets in beyond these is a problem.
 */
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import type { INetworkPolicyPeer } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicyPeer";
import type { INetworkPolicyPort } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicyPort";
import { WORKER } from "./deploy-files.ts";
import { podTemplate, type KubeObject } from "./kustomize-render.ts";

/** The restate-helm chart's pod label (its selector): Restate is installed by Helm, not rendered here. */
export const RESTATE_POD_LABELS = { app: "restate" };
/** Namespaces the operators and their tools (Prometheus, restatectl) run in. */
export const OPERATIONS_NAMESPACE_LABELS = { "quayside.dev/operations": "true" };
export const RESTATE_PORTS = { ingress: 8080, admin: 9070, node: 5122 };

const app = (component: string) => ({ "app.kubernetes.io/name": "quayside", "app.kubernetes.io/component": component });

/** A source that may reach a port: pods of this namespace with these labels, or the operations namespaces. */
type Source = { pods: Record<string, string> } | "operations";

interface Guarded {
  who: string;
  namespace: string | undefined;
  labels: Record<string, string>;
  ports: Array<{ port: number; name?: string; what: string; from: Source[] }>;
}

const contains = (have: Record<string, string> | undefined, want: Record<string, string>): boolean =>
  Object.entries(want).every(([k, v]) => have?.[k] === v);

/** Whether the policy's podSelector selects pods with these labels (an empty selector selects all). */
function selects(policy: NetworkPolicy, labels: Record<string, string>): boolean {
  const sel = policy.spec?.podSelector;
  if (sel?.matchExpressions?.length) return true; // not evaluated: assume it does, so its rules are checked
  return contains(labels, sel?.matchLabels ?? {});
}

function opens(ports: INetworkPolicyPort[] | undefined, port: number, name?: string): boolean {
  if (!ports?.length) return true;
  return ports.some((p) => p.port === undefined || p.port === port || (name !== undefined && p.port === name));
}

function allowed(peer: INetworkPolicyPeer, from: Source[]): boolean {
  if (peer.ipBlock) return false;
  return from.some((s) =>
    s === "operations"
      ? contains(peer.namespaceSelector?.matchLabels, OPERATIONS_NAMESPACE_LABELS)
      : !peer.namespaceSelector && !peer.podSelector?.matchExpressions?.length && contains(peer.podSelector?.matchLabels, s.pods),
  );
}

const describePeer = (peer: INetworkPolicyPeer): string => JSON.stringify(peer);

function guardedProblems(g: Guarded, policies: NetworkPolicy[]): string[] {
  const mine = policies.filter(
    (p) =>
      p.metadata?.namespace === g.namespace &&
      selects(p, g.labels) &&
      (p.spec?.policyTypes === undefined || p.spec.policyTypes.includes("Ingress")),
  );
  if (mine.length === 0) return [`${g.who}: no NetworkPolicy limits who reaches it`];
  const problems: string[] = [];
  for (const policy of mine) {
    const name = `NetworkPolicy ${policy.metadata?.name ?? ""}`;
    for (const rule of policy.spec?.ingress ?? []) {
      for (const p of g.ports) {
        if (!opens(rule.ports, p.port, p.name)) continue;
        if (!rule.from?.length) problems.push(`${name}: ${g.who}'s ${p.what} (${p.port}) is open to every source`);
        for (const peer of rule.from ?? []) {
          if (!allowed(peer, p.from)) problems.push(`${name}: ${g.who}'s ${p.what} (${p.port}) is open to ${describePeer(peer)}`);
        }
      }
    }
  }
  return problems;
}

/** Every way the rendered policies let someone else reach the workers or Restate; [] when they do not. */
export function networkPolicyProblems(objects: KubeObject[]): string[] {
  const policies = objects.filter((o) => o instanceof NetworkPolicy);
  const guarded: Guarded[] = objects
    .filter((o) => o instanceof Deployment && o.metadata?.labels?.["app.kubernetes.io/component"] === "worker")
    .map((d) => ({
      who: `Deployment ${d.metadata?.name ?? ""}`,
      namespace: d.metadata?.namespace,
      labels: podTemplate(d)?.labels ?? {},
      ports: [
        { port: WORKER.restate, name: "restate", what: "Restate port", from: [{ pods: RESTATE_POD_LABELS }] },
        { port: WORKER.probes, name: "metrics", what: "metrics port", from: ["operations"] },
      ],
    }));
  if (guarded.length === 0) return ["no worker Deployment is rendered"];
  // The chart is installed into the app's namespace (restate-values.yaml).
  guarded.push({
    who: "Restate (pods app=restate)",
    namespace: guarded[0]?.namespace,
    labels: RESTATE_POD_LABELS,
    ports: [
      { port: RESTATE_PORTS.ingress, what: "ingress", from: [{ pods: app("web") }, { pods: app("worker") }] },
      { port: RESTATE_PORTS.admin, what: "admin API", from: ["operations", { pods: app("register") }] },
      { port: RESTATE_PORTS.node, what: "node port", from: [{ pods: RESTATE_POD_LABELS }, "operations"] },
    ],
  });
  return guarded.flatMap((g) => guardedProblems(g, policies));
}
