/**
 * Operator passwords: scrypt from node:crypto with a random salt per account, the cost stored with
 * the hash (`scrypt$ln=15,r=8,p=1$<salt>$<key>`, base64), and a constant-time comparison. Hashing
 * runs on libuv's thread pool, not on the event loop.
 */
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from "node:crypto";

/** The account `npm run dev` creates on an empty database; prod refuses to start while it signs in. */
export const DEV_OPERATOR = { name: "ops", password: "ops-dev-password" } as const;

export const MIN_PASSWORD_LENGTH = 12;

// 2^15 × 8 × 128 bytes = 32 MiB per hash, ~0.1 s here: slow for a guesser, fine for a sign-in.
const COST = { ln: 15, r: 8, p: 1 };
const KEY_BYTES = 32;
const SALT_BYTES = 16;
// Bounds for parameters read back from the database: a tampered row must not cost a gigabyte.
const MAX_MEMORY_BYTES = 128 * 2 ** 20;
const MAX_P = 4;

function scrypt(password: string, salt: Buffer, keylen: number, o: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCallback(password.normalize("NFC"), salt, keylen, o, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

const options = (ln: number, r: number, p: number): ScryptOptions => ({
  N: 2 ** ln,
  r,
  p,
  maxmem: 2 ** ln * r * 128 * 2,
});

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await scrypt(password, salt, KEY_BYTES, options(COST.ln, COST.r, COST.p));
  return `scrypt$ln=${COST.ln},r=${COST.r},p=${COST.p}$${salt.toString("base64")}$${key.toString("base64")}`;
}

const FORMAT = /^scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/=]{8,})\$([A-Za-z0-9+/=]{16,})$/;

/** True when `password` is the one `stored` was made from; false for a malformed hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = FORMAT.exec(stored);
  if (!m) return false;
  const [ln, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (ln < 10 || r < 1 || p < 1 || p > MAX_P || 2 ** ln * r * 128 > MAX_MEMORY_BYTES) return false;
  const expected = Buffer.from(m[5]!, "base64");
  const key = await scrypt(password, Buffer.from(m[4]!, "base64"), expected.length, options(ln, r, p));
  return timingSafeEqual(key, expected);
}

/**
 * A hash no password matches, checked when the name is unknown: a wrong name costs as long as a
 * wrong password, so timing does not tell which names exist.
 */
export const UNKNOWN_OPERATOR_HASH = `scrypt$ln=${COST.ln},r=${COST.r},p=${COST.p}$${Buffer.alloc(SALT_BYTES).toString("base64")}$${Buffer.alloc(KEY_BYTES).toString("base64")}`;
