// deploy/ cannot be built or applied here (no Docker engine, no cluster), so every artifact is checked offline by the
// checkers in scripts/check-deploy/ (also `npm run check:deploy`): the Caddyfile by Caddy itself (installed here when
// missing), Kubernetes objects against the bundled API schemas, the production compose file against the Compose JSON
// schema, then the rules we run production by. This file runs each check on the repository, and feeds the same checkers
// broken inputs, so a check that can no longer fail is noticed.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { describe, test } from "node:test";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { appEnvProblems } from "../scripts/check-deploy/app-env.ts";
import { caddyfileProblems } from "../scripts/check-deploy/caddyfile.ts";
import { deployChecks } from "../scripts/check-deploy/checks.ts";
import { composeProblems } from "../scripts/check-deploy/compose.ts";
import { DEPLOY, K8S, pinProblem, read, yamlDocs, zodProblems, type Dict } from "../scripts/check-deploy/deploy-files.ts";
import { dockerfileProblems, IMAGES } from "../scripts/check-deploy/dockerfile.ts";
import { kubeProblems } from "../scripts/check-deploy/kubernetes.ts";
import { kubectlKustomizeMissing, kustomizeDrift } from "../scripts/check-deploy/kustomize-crosscheck.ts";
import { kubeObject, render } from "../scripts/check-deploy/kustomize-render.ts";
import { networkPolicyProblems } from "../scripts/check-deploy/network-policies.ts";
import { restateValuesSchema } from "../scripts/check-deploy/restate-values.ts";
import { ensureSystemPrograms } from "../scripts/stack/system-packages.ts";

await ensureSystemPrograms(["caddy"]);

for (const [artifact, checks] of Object.entries(deployChecks)) {
  describe(artifact, () => {
    for (const [promise, check] of Object.entries(checks)) test(promise, () => assert.deepEqual(check(), []));
  });
}

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

  test("Kubernetes: kubectl kustomize renders what our renderer does", { skip: kubectlKustomizeMissing() ?? false }, () => {
    for (const dir of [K8S, path.join(K8S, "migrate")]) assert.deepEqual(kustomizeDrift(dir, render(dir).objects), []);
    // And it would notice a difference: here, a spread constraint the release label no longer narrows.
    const objects = render(K8S).objects;
    const worker = objects.find((o) => o instanceof Deployment && o.metadata?.name === "worker-v1") as Deployment | undefined;
    const spread = worker?.spec?.template.spec?.topologySpreadConstraints?.[0]?.labelSelector?.matchLabels;
    assert.ok(spread);
    delete spread["quayside.dev/release"];
    assert.match(
      kustomizeDrift(K8S, objects).join("\n"),
      /^deploy\/k8s: Deployment quayside\/worker-v1 differs at \.spec\.template\.spec\.topologySpreadConstraints\[0\]/,
    );
  });

  test("NetworkPolicies: a worker nobody guards, the Restate port or ingress open to others, the admin API to the web", () => {
    const rendered = render(K8S).objects;
    const worker = rendered.find((o) => o.kind === "Deployment" && o.metadata?.name === "worker-v1");
    assert.ok(worker);
    assert.deepEqual(networkPolicyProblems(rendered), [], "the repository's policies pass");
    assert.deepEqual(networkPolicyProblems([worker]), [
      "Deployment worker-v1: no NetworkPolicy limits who reaches it",
      "Restate (pods app=restate): no NetworkPolicy limits who reaches it",
    ]);
    const policy = (name: string, podSelector: Dict, ingress: unknown[]) =>
      kubeObject(
        {
          apiVersion: "networking.k8s.io/v1",
          kind: "NetworkPolicy",
          metadata: { name, namespace: "quayside" },
          spec: { podSelector, policyTypes: ["Ingress"], ingress },
        },
        name,
      ).object!;
    const web = { "app.kubernetes.io/name": "quayside", "app.kubernetes.io/component": "web" };
    const broken = [
      worker,
      // The whole namespace may call the worker (an empty podSelector), and anything at all its metrics.
      policy("worker-open", { matchLabels: { "app.kubernetes.io/component": "worker" } }, [
        { from: [{ podSelector: {} }], ports: [{ port: "restate" }] },
        { ports: [{ port: 9465 }] },
      ]),
      // Restate's ingress from any address, its admin API from the web.
      policy("restate-open", { matchLabels: { app: "restate" } }, [
        { from: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: [{ port: 8080 }] },
        { from: [{ podSelector: { matchLabels: web } }], ports: [{ port: 9070 }] },
      ]),
    ];
    assert.deepEqual(networkPolicyProblems(broken), [
      `NetworkPolicy worker-open: Deployment worker-v1's Restate port (9080) is open to {"podSelector":{}}`,
      "NetworkPolicy worker-open: Deployment worker-v1's metrics port (9465) is open to every source",
      `NetworkPolicy restate-open: Restate (pods app=restate)'s ingress (8080) is open to {"ipBlock":{"cidr":"0.0.0.0/0"}}`,
      `NetworkPolicy restate-open: Restate (pods app=restate)'s admin API (9070) is open to {"podSelector":{"matchLabels":${JSON.stringify(web)}}}`,
    ]);
  });

  test("Helm values: Restate without a request identity key", () => {
    const good = yamlDocs(path.join(K8S, "restate-values.yaml")).docs[0] as Dict;
    assert.deepEqual(
      zodProblems("values", restateValuesSchema.safeParse({ ...good, identityPrivateKey: { enabled: false, secretName: "" } })),
      [
        "values: identityPrivateKey.enabled: Invalid input: expected true",
        "values: identityPrivateKey.secretName: Too small: expected string to have >=1 characters",
        "values: identityPrivateKey.keyName: Invalid input: expected string, received undefined",
      ],
    );
  });

  test("App config: a prod worker without RESTATE_IDENTITY_KEYS, or with a placeholder", () => {
    const env = {
      APP_PROFILE: "prod",
      LLM_PROVIDER: "openai",
      OPENAI_API_KEY: "sk-test",
      PAYMENT_PROVIDER: "stripe",
      STRIPE_SECRET_KEY: "sk_live_x",
      LINK_SIGNING_KEYS: "l".repeat(40),
    };
    assert.deepEqual(appEnvProblems("k8s", env, ["worker"]), [
      "k8s (worker): RESTATE_IDENTITY_KEYS: is required in prod: without it anyone who reaches the worker's port can run its handlers (send mail, refund, approve)",
    ]);
    assert.deepEqual(appEnvProblems("k8s", { ...env, RESTATE_IDENTITY_KEYS: "CHANGE-ME" }, ["worker"]), [
      "k8s (worker): RESTATE_IDENTITY_KEYS.0: each key must look like publickeyv1_<base58>",
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
      "restate: no request identity key (the worker would refuse every call)",
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

  test("Caddyfile: what Caddy refuses (a misspelt subdirective, a stray brace, a missing variable)", () => {
    const vars = { DOMAIN: "shop.example.com" };
    const good = read("deploy/Caddyfile");
    const misspelt = caddyfileProblems(good.replace("flush_interval -1", "flush_intervall -1"), {
      ...vars,
      ACME_EMAIL: "ops@example.com",
    });
    assert.equal(misspelt.length, 1, misspelt.join("\n"));
    assert.match(
      misspelt[0]!,
      /^caddy validate: .*Caddyfile:\d+ - Error during parsing: unrecognized subdirective flush_intervall$/,
    );
    // A closing brace too many: Caddy reads it as a second site address.
    const stray = caddyfileProblems("{$DOMAIN} {\n\treverse_proxy web:3000 {\n\t\tflush_interval -1\n\t}\n}\n}\n", vars);
    assert.deepEqual(stray, ["caddy validate: adapting config using caddyfile: subject does not qualify for certificate: '}'"]);
    assert.deepEqual(caddyfileProblems(good, vars), ["{$ACME_EMAIL} has no sample value to validate with"]);
  });

  test("Caddyfile: no flushing, compression of everything, no web upstream, a write timeout", () => {
    const vars = { DOMAIN: "shop.example.com" };
    const broken = "{$DOMAIN} {\n\tencode gzip\n\treverse_proxy web:3000 {\n\t\tflush_interval 1s\n\t}\n}\n";
    assert.deepEqual(caddyfileProblems(broken, vars), [
      "reverse_proxy to web lacks `flush_interval -1` (SSE)",
      "encode may compress text/event-stream",
    ]);
    const eventsToo = "{$DOMAIN} {\n\tencode gzip {\n\t\tmatch {\n\t\t\theader Content-Type text/*\n\t\t}\n\t}\n";
    assert.deepEqual(caddyfileProblems(`${eventsToo}\treverse_proxy web:3000 {\n\t\tflush_interval -1\n\t}\n}\n`, vars), [
      "encode may compress text/event-stream",
    ]);
    assert.deepEqual(caddyfileProblems("{$DOMAIN} {\n\treverse_proxy app:8080\n}\n", vars), ["no reverse_proxy to web:3000"]);
    assert.deepEqual(caddyfileProblems("other.example.com {\n\treverse_proxy web:3000\n}\n", vars), [
      "no site block for {$DOMAIN}",
    ]);
    const writeTimeout = "{\n\tservers {\n\t\ttimeouts {\n\t\t\twrite 30s\n\t\t}\n\t}\n}\n";
    assert.deepEqual(
      caddyfileProblems(`${writeTimeout}{$DOMAIN} {\n\treverse_proxy web:3000 {\n\t\tflush_interval -1\n\t}\n}\n`, vars),
      ["a server write timeout would cut SSE streams"],
    );
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
