/** restate-server from the npm package `@restatedev/restate-server`, on ports of our choosing. */
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { httpOk, startProcess, waitFor, type Managed } from "./processes.ts";
import { ensureRequestIdentity, RESTATE_IDENTITY_KEY_FILE_ENV } from "./request-identity.ts";

export interface RestatePorts {
  ingress: number;
  admin: number;
  node: number;
}

export interface RestateHandle extends Managed {
  ingressUrl: string;
  adminUrl: string;
  /** The public key of the key restate-server signs its requests with: the worker's RESTATE_IDENTITY_KEYS. */
  identityKey: string;
  /** The private key file it signs with (tests sign with it to prove the worker's check). */
  identityKeyFile: string;
}

/** A binary shipped in a platform package of `@restatedev/<name>` (restate-server, restatectl). */
export function restateBinary(name: "restate-server" | "restatectl"): string {
  const require = createRequire(import.meta.url);
  const arch = process.arch === "x64" ? "x64" : process.arch;
  const pkg = require.resolve(`@restatedev/${name}-${process.platform}-${arch}/package.json`);
  return path.join(path.dirname(pkg), "bin", name);
}

export function restateServerBin(): string {
  return restateBinary("restate-server");
}

/** The environment every restate-server node we start shares: its name, data, loopback ports, quiet logs. */
export function restateNodeEnv(opts: {
  ports: RestatePorts;
  baseDir: string;
  nodeName: string;
  partitions: number;
  rocksdbMemory: string;
  /** The PEM file every request to a deployment is signed with. */
  identityKeyFile: string;
}): NodeJS.ProcessEnv {
  return {
    [RESTATE_IDENTITY_KEY_FILE_ENV]: opts.identityKeyFile,
    RESTATE_BASE_DIR: path.resolve(opts.baseDir),
    RESTATE_NODE_NAME: opts.nodeName,
    RESTATE_LISTEN_MODE: "tcp",
    RESTATE_BIND_ADDRESS: `127.0.0.1:${opts.ports.node}`,
    RESTATE_ADVERTISED_ADDRESS: `http://127.0.0.1:${opts.ports.node}`,
    RESTATE_ADMIN__BIND_ADDRESS: `127.0.0.1:${opts.ports.admin}`,
    RESTATE_INGRESS__BIND_ADDRESS: `127.0.0.1:${opts.ports.ingress}`,
    RESTATE_DISABLE_TELEMETRY: "true",
    RESTATE_DEFAULT_NUM_PARTITIONS: String(opts.partitions),
    RESTATE_ROCKSDB_TOTAL_MEMORY_SIZE: opts.rocksdbMemory,
    RESTATE_LOG_FORMAT: "compact",
    RESTATE_LOG_DISABLE_ANSI_CODES: "true",
  };
}

export async function startRestate(opts: {
  ports: RestatePorts;
  baseDir: string;
  logFile: string;
  nodeName?: string;
  partitions?: number;
}): Promise<RestateHandle> {
  mkdirSync(opts.baseDir, { recursive: true });
  // Kept in the data folder: a restart signs with the same key the worker was given.
  const identity = ensureRequestIdentity(opts.baseDir);
  const proc = startProcess({
    name: "restate-server",
    command: restateServerBin(),
    args: ["--no-logo"],
    env: {
      ...process.env,
      ...restateNodeEnv({
        ports: opts.ports,
        baseDir: opts.baseDir,
        nodeName: opts.nodeName ?? "quayside-dev",
        partitions: opts.partitions ?? 4,
        rocksdbMemory: "512MiB",
        identityKeyFile: identity.privateKeyFile,
      }),
    },
    output: opts.logFile,
  });
  const adminUrl = `http://127.0.0.1:${opts.ports.admin}`;
  const ingressUrl = `http://127.0.0.1:${opts.ports.ingress}`;
  await waitFor("restate admin", () => httpOk(`${adminUrl}/health`), { proc, timeoutMs: 60_000 });
  await waitFor("restate ingress", () => httpOk(`${ingressUrl}/restate/health`), { proc, timeoutMs: 60_000 });
  return { ...proc, adminUrl, ingressUrl, identityKey: identity.publicKey, identityKeyFile: identity.privateKeyFile };
}
