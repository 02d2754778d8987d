/**
 * Restate's request identity keys, for operators (deploy/README.md, "Request identity"):
 *   node scripts/request-identity-key.ts new <file.pem>    a new ed25519 private key, written 0600; prints its public key
 *   node scripts/request-identity-key.ts public <file.pem> the public key (publickeyv1_…) of an existing PEM,
 *                                                          e.g. one made with `openssl genpkey -algorithm ed25519`
 * restate-server reads the PEM; the worker's RESTATE_IDENTITY_KEYS gets the public key.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { newRequestIdentityKey, restatePublicKey } from "./stack/request-identity.ts";

const [command, file] = process.argv.slice(2);

if (command === "new" && file) {
  if (existsSync(file)) {
    process.stderr.write(`${file} exists: not overwriting a key (remove it first if you mean to)\n`);
    process.exit(1);
  }
  const key = newRequestIdentityKey();
  writeFileSync(file, key.privateKeyPem, { mode: 0o600 });
  process.stdout.write(`${key.publicKey}\n`);
} else if (command === "public" && file) {
  process.stdout.write(`${restatePublicKey(readFileSync(file, "utf8"))}\n`);
} else {
  process.stderr.write("usage: node scripts/request-identity-key.ts new|public <file.pem>\n");
  process.exit(2);
}
