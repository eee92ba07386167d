/**
 * Short numeric codes sent to a person (sign-in and enrolment codes by SMS): six digits
 * from the CSPRNG, uniform (node:crypto randomInt), and their storage form. Six digits are
 * only 20 bits, so the stored form is an HMAC-SHA256 under a server-side key, bound to the
 * challenge it belongs to: a leaked table cannot be brute-forced offline, and a code cannot be
 * moved to another challenge. Guessing online is stopped by the caller (few attempts per
 * challenge, short lifetime, rate limits).
 */
import { createHmac, randomInt } from "node:crypto";
import { safeEqual } from "./tokens.ts";

export const ONE_TIME_CODE_DIGITS = 6;

/** A new code, e.g. "048213" (leading zeros kept). */
export function createOneTimeCode(): string {
  return String(randomInt(0, 10 ** ONE_TIME_CODE_DIGITS)).padStart(ONE_TIME_CODE_DIGITS, "0");
}

/** Exactly six ASCII digits after spaces are removed ("123 456" as people type it); null otherwise. */
export function normalizeOneTimeCode(input: string): string | null {
  const compact = typeof input === "string" ? input.replace(/\s+/g, "") : "";
  return new RegExp(`^[0-9]{${ONE_TIME_CODE_DIGITS}}$`).test(compact) ? compact : null;
}

/** The storage form of `code` for the challenge `challengeId`: HMAC-SHA256, hex. */
export function hashOneTimeCode(code: string, challengeId: string, key: Buffer): string {
  if (!Buffer.isBuffer(key) || key.length < 16) throw new RangeError("The one-time-code key must be at least 16 bytes");
  return createHmac("sha256", key).update(`${challengeId}\u0000${code}`, "utf8").digest("hex");
}

/** Whether `input` is the code stored as `hash` for `challengeId`, in constant time. */
export function oneTimeCodeMatches(input: string, challengeId: string, hash: string, key: Buffer): boolean {
  const code = normalizeOneTimeCode(input);
  return code !== null && safeEqual(hashOneTimeCode(code, challengeId, key), hash);
}
