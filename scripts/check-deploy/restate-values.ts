/** The Restate Helm values (restate-helm chart): a replicated 3-node cluster under the restricted Pod Security Standard. */
import { z } from "zod";

export const quantity = z.union([z.string().regex(/^\d+(\.\d+)?(m|Ki|Mi|Gi|Ti)?$/), z.number().positive()]);
export const envList = z.array(z.strictObject({ name: z.string().regex(/^[A-Z][A-Z0-9_]*$/), value: z.string() }));
export const restateValuesSchema = z
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
    // Request identity: the nodes sign their requests to the workers, which refuse unsigned ones.
    identityPrivateKey: z.strictObject({
      enabled: z.literal(true),
      secretName: z.string().min(1),
      keyName: z.string().min(1),
    }),
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
