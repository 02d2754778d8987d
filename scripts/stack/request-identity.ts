/**
 * Restate's request identity: restate-server signs every request to a deployment with an ed25519
 * private key (a PEM file); the worker verifies the signature against the matching public key,
 * written as Restate writes it, `publickeyv1_` + the raw 32-byte key in base58. Local stacks make
 * one key pair per data folder, so a restart (and every node of a cluster) signs with the same key.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

function base58(bytes: Uint8Array): string {
  let n = BigInt(`0x${Buffer.from(bytes).toString("hex") || "0"}`);
  let out = "";
  while (n > 0n) {
    out = BASE58[Number(n % 58n)]! + out;
    n /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    out = `1${out}`;
  }
  return out;
}

/** The `publickeyv1_…` form of an ed25519 key (private or public, as a KeyObject or PEM text). */
export function restatePublicKey(key: KeyObject | string): string {
  const object = typeof key === "string" ? createPublicKey(key.includes("PRIVATE KEY") ? createPrivateKey(key) : key) : key;
  const publicKey = object.type === "private" ? createPublicKey(object) : object;
  if (publicKey.asymmetricKeyType !== "ed25519") throw new Error("a request identity key must be ed25519");
  const { x } = publicKey.export({ format: "jwk" });
  return `publickeyv1_${base58(Buffer.from(String(x), "base64url"))}`;
}

/** A new ed25519 key pair: the PEM restate-server reads, and the public key the worker checks. */
export function newRequestIdentityKey(): { privateKeyPem: string; publicKey: string } {
  const { privateKey } = generateKeyPairSync("ed25519");
  return {
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicKey: restatePublicKey(privateKey),
  };
}

export interface RequestIdentity {
  /** The PEM file restate-server signs with. */
  privateKeyFile: string;
  /** What the worker is given in RESTATE_IDENTITY_KEYS. */
  publicKey: string;
}

/** The key pair kept in `dir` (made on first use, readable by its owner only). */
export function ensureRequestIdentity(dir: string): RequestIdentity {
  const privateKeyFile = path.resolve(dir, "request-identity.pem");
  if (!existsSync(privateKeyFile)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(privateKeyFile, newRequestIdentityKey().privateKeyPem, { mode: 0o600 });
  }
  return { privateKeyFile, publicKey: restatePublicKey(readFileSync(privateKeyFile, "utf8")) };
}

/**
 * restate-server's setting for the signing key. Restate 1.7 reads it under `worker.invoker` (the
 * top-level name it replaced is deprecated); the Helm chart still sets the old name.
 */
export const RESTATE_IDENTITY_KEY_FILE_ENV = "RESTATE_WORKER__INVOKER__REQUEST_IDENTITY_PRIVATE_KEY_PEM_FILE";
