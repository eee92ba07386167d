/**
 * Opaque secrets: random tokens (refresh, e-mail verification, password reset, client
 * secrets), their storage form, constant-time comparison, and 2FA recovery codes.
 *
 * Tokens carry ≥ 128 bits from the CSPRNG, so a plain SHA-256 is enough to store them
 * (no salt or slow hash needed: OWASP, "Forgot Password" / session management cheat
 * sheets). Recovery codes carry 60 bits, so they are stored as HMAC-SHA256 under a
 * server-side pepper: a leaked table alone cannot be brute-forced.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** Fewer random bytes than this is not a secret token. */
export const TOKEN_MIN_BYTES = 16;

/** `bytes` random bytes as base64url (32 bytes → 43 characters). */
export function randomToken(bytes = 32): string {
  if (!Number.isInteger(bytes) || bytes < TOKEN_MIN_BYTES || bytes > 1024) {
    throw new RangeError(`randomToken needs an integer number of bytes from ${TOKEN_MIN_BYTES} to 1024 (got ${bytes})`);
  }
  return randomBytes(bytes).toString("base64url");
}

/** The storage form of a high-entropy token: SHA-256, hex. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/**
 * Constant-time string equality. Both sides are hashed first, so strings of different
 * lengths compare in the same time and simply give false.
 */
export function safeEqual(a: string, b: string): boolean {
  if (typeof a !== "string" || typeof b !== "string") return false;
  const da = createHash("sha256").update(a, "utf8").digest();
  const db = createHash("sha256").update(b, "utf8").digest();
  return timingSafeEqual(da, db);
}

/**
 * Crockford's base32 alphabet, lowercase: 32 symbols, so 5 bits each, no i, l, o, u.
 * 0 and 1 stay; a typed o / i / l is read as 0 / 1 (see normalizeRecoveryCode).
 */
export const RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";
const RECOVERY_GROUPS = 3;
const RECOVERY_GROUP_LENGTH = 4; // 3 × 4 symbols × 5 bits = 60 bits

/** `count` distinct codes like `k7mq-9xz2-4fpd`, to be shown once and stored hashed. */
export function createRecoveryCodes(count = 10): string[] {
  if (!Number.isInteger(count) || count < 1 || count > 100) throw new RangeError(`count must be 1..100 (got ${count})`);
  const codes = new Set<string>();
  const length = RECOVERY_GROUPS * RECOVERY_GROUP_LENGTH;
  while (codes.size < count) {
    // 256 is a multiple of 32, so `byte & 31` is uniform.
    const symbols = [...randomBytes(length)].map((byte) => RECOVERY_ALPHABET[byte & 31]).join("");
    const groups = symbols.match(new RegExp(`.{${RECOVERY_GROUP_LENGTH}}`, "g")) ?? [];
    codes.add(groups.join("-"));
  }
  return [...codes];
}

/** Lowercase, without spaces or dashes, with o → 0 and i / l → 1 (as Crockford decodes). */
export function normalizeRecoveryCode(input: string): string {
  return input
    .normalize("NFKC")
    .toLowerCase()
    .replace(/[\s\-\u2010-\u2015\u2212]+/g, "")
    .replace(/o/g, "0")
    .replace(/[il]/g, "1");
}

/** The storage form of a recovery code: HMAC-SHA256 (hex) of the normalised code. */
export function hashRecoveryCode(code: string, pepper: Buffer): string {
  if (!Buffer.isBuffer(pepper) || pepper.length < 16) throw new RangeError("The recovery-code pepper must be at least 16 bytes");
  return createHmac("sha256", pepper).update(normalizeRecoveryCode(code), "utf8").digest("hex");
}
