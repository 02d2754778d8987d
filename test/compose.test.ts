// compose.yaml cannot run here (no Docker engine), so it is parsed and checked statically.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { parse } from "yaml";
import { z } from "zod";

const EXPECTED_SERVICES = ["mailpit", "postgres", "restate", "valkey"];
const REQUIRED_HOST_PORTS = ["5432", "6379", "8080", "9070", "1025", "1080"];
const PINNED_TAG = /^v?\d+\.\d+(\.\d+)?(-[a-z0-9.]+)?$/;
const HOST_GATEWAY = "host.docker.internal:host-gateway";

const serviceSchema = z.object({
  image: z.string().min(1),
  restart: z.string().optional(),
  environment: z.record(z.string(), z.string()).optional(),
  ports: z.array(z.string()).optional(),
  volumes: z.array(z.string()).optional(),
  extra_hosts: z.array(z.string()).optional(),
  healthcheck: z.object({ test: z.union([z.string().min(1), z.array(z.string()).min(1)]) }).optional(),
});
const composeSchema = z.object({
  version: z.unknown().optional(),
  services: z.record(z.string(), serviceSchema),
  volumes: z.record(z.string(), z.unknown()).nullable().optional(),
});

/** The image's problem, or undefined when it is pinned to an exact version or a digest. */
function pinProblem(image: string): string | undefined {
  if (image.includes("@sha256:")) return undefined;
  const colon = image.lastIndexOf(":");
  if (colon === -1 || colon < image.lastIndexOf("/")) return "has no tag";
  const tag = image.slice(colon + 1);
  if (tag === "latest") return "uses the `latest` tag";
  return PINNED_TAG.test(tag) ? undefined : `tag "${tag}" is not an exact major.minor[.patch] version`;
}

/** "[ip:]host:container[/proto]" → published host port (undefined = random) and container port. */
function splitPort(spec: string): { host: string | undefined; container: string } {
  const parts = (spec.split("/")[0] ?? "").split(":");
  return { host: parts.length > 1 ? parts.at(-2) : undefined, container: parts.at(-1) ?? "" };
}

/** Every way `doc` falls short of the local development stack; [] when it is fine. */
function composeProblems(doc: unknown): string[] {
  const parsed = composeSchema.safeParse(doc);
  if (!parsed.success) return parsed.error.issues.map((i) => `schema: ${i.path.join(".") || "(root)"}: ${i.message}`);
  const { services, volumes, version } = parsed.data;
  const problems: string[] = [];
  if (version !== undefined) problems.push("top-level `version` is obsolete in the Compose spec");
  const names = Object.keys(services).sort();
  const expected = EXPECTED_SERVICES.join(", ");
  if (names.join(", ") !== expected) problems.push(`services are [${names.join(", ")}], expected [${expected}]`);
  const declared = new Set(Object.keys(volumes ?? {}));
  const hostPorts = new Set<string>();
  for (const [name, svc] of Object.entries(services)) {
    const pin = pinProblem(svc.image);
    if (pin) problems.push(`${name}: image ${svc.image} ${pin}`);
    if (!svc.healthcheck) problems.push(`${name}: has no healthcheck`);
    if (svc.restart !== "unless-stopped") problems.push(`${name}: restart must be unless-stopped`);
    for (const v of svc.volumes ?? []) {
      const source = v.split(":")[0] ?? "";
      const named = v.includes(":") && !/^[./~$]/.test(source);
      if (named && !declared.has(source)) problems.push(`${name}: volume ${source} is not declared at top level`);
    }
    for (const p of svc.ports ?? []) {
      const { host, container } = splitPort(p);
      if (host) hostPorts.add(host);
      if (name === "restate" && (container === "5122" || host === "5122")) {
        problems.push("restate: port 5122 (fabric) must not be published");
      }
    }
  }
  const restate = services["restate"];
  if (restate) {
    const tag = restate.image.split("@")[0]?.split(":").at(-1) ?? "";
    if (!tag.startsWith("1.7.")) problems.push(`restate: image tag ${tag} is not 1.7.x`);
    if (!restate.extra_hosts?.includes(HOST_GATEWAY)) problems.push(`restate: extra_hosts lacks ${HOST_GATEWAY}`);
  }
  for (const port of REQUIRED_HOST_PORTS) {
    if (!hostPorts.has(port)) problems.push(`host port ${port} is not published`);
  }
  return problems;
}

test("compose.yaml describes the local backing services", () => {
  const doc: unknown = parse(readFileSync(new URL("../compose.yaml", import.meta.url), "utf8"));
  assert.deepEqual(composeProblems(doc), []);
});

test("composeProblems catches a broken compose file", () => {
  const bad: unknown = {
    version: "3.8",
    services: {
      postgres: { image: "postgres:latest", restart: "unless-stopped", volumes: ["pgdata:/var/lib/postgresql/data"] },
      valkey: { image: "valkey/valkey:8", ports: ["6379:6379"], healthcheck: { test: ["CMD", "valkey-cli", "ping"] } },
      restate: {
        image: "docker.restate.dev/restatedev/restate:1.6.2",
        restart: "unless-stopped",
        ports: ["8080:8080", "9070:9070", "5122:5122"],
        healthcheck: { test: "curl -fsS http://localhost:9070/health" },
      },
    },
  };
  assert.deepEqual(composeProblems(bad), [
    "top-level `version` is obsolete in the Compose spec",
    "services are [postgres, restate, valkey], expected [mailpit, postgres, restate, valkey]",
    "postgres: image postgres:latest uses the `latest` tag",
    "postgres: has no healthcheck",
    "postgres: volume pgdata is not declared at top level",
    'valkey: image valkey/valkey:8 tag "8" is not an exact major.minor[.patch] version',
    "valkey: restart must be unless-stopped",
    "restate: port 5122 (fabric) must not be published",
    "restate: image tag 1.6.2 is not 1.7.x",
    `restate: extra_hosts lacks ${HOST_GATEWAY}`,
    "host port 5432 is not published",
    "host port 1025 is not published",
    "host port 1080 is not published",
  ]);
});

test("composeProblems reports a malformed document through the schema", () => {
  assert.deepEqual(composeProblems({ services: { postgres: { ports: [5432] } } }), [
    "schema: services.postgres.image: Invalid input: expected string, received undefined",
    "schema: services.postgres.ports.0: Invalid input: expected string, received number",
  ]);
});
