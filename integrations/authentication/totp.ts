/**
 * Time-based one-time passwords, RFC 6238 (TOTP over RFC 4226 HOTP) with the parameters
 * every authenticator app supports: HMAC-SHA-1, 30-second steps, 6 digits, and a ±1 step
 * window for clock drift (§5.2). A code is accepted once: the caller stores the returned
 * step and passes it back, and a code from that step or an earlier one is refused.
 * Enrolment uses the Google Authenticator Key URI format and a QR code of it.
 */
import { createHmac, randomBytes } from "node:crypto";
import speakeasy from "speakeasy";
import QRCode from "qrcode";
import { base32Decode, base32Encode } from "./base32.ts";
import { safeEqual } from "./tokens.ts";

export const TOTP = { digits: 6, periodSec: 30, window: 1, secretBytes: 20 } as const;

/** HOTP (RFC 4226 §5.3): HMAC-SHA-1 of the 8-byte counter, dynamic truncation, `digits` digits. */
export function hotp(secret: Buffer, counter: number, digits: number = TOTP.digits): string {
  if (!Number.isSafeInteger(counter) || counter < 0) throw new RangeError(`Invalid HOTP counter ${counter}`);
  if (!Number.isInteger(digits) || digits < 6 || digits > 8) throw new RangeError(`HOTP codes have 6 to 8 digits (got ${digits})`);
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac("sha1", secret).update(message).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, "0");
}

/** The RFC 6238 time step (T) that `timeMs` falls in. */
export function totpStep(timeMs: number = Date.now()): number {
  return Math.floor(timeMs / 1000 / TOTP.periodSec);
}

/** A new 160-bit secret (RFC 4226 §4 recommends 160) and its otpauth:// enrolment URL. */
export function createTotpSecret(accountName: string, issuer: string): { base32: string; otpauthUrl: string } {
  for (const [what, value] of [["accountName", accountName], ["issuer", issuer]] as const) {
    if (typeof value !== "string" || value.trim() === "" || value.includes(":")) {
      throw new TypeError(`${what} must be a non-empty string without ":" (Key URI format)`);
    }
  }
  const base32 = base32Encode(randomBytes(TOTP.secretBytes));
  const otpauthUrl = speakeasy.otpauthURL({
    secret: base32,
    encoding: "base32",
    label: `${encodeURIComponent(issuer)}:${encodeURIComponent(accountName)}`,
    issuer,
    algorithm: "sha1",
    digits: TOTP.digits,
    period: TOTP.periodSec,
  });
  return { base32, otpauthUrl };
}

/** The enrolment QR code as a PNG data URL (`data:image/png;base64,...`). */
export function qrCodeDataUrl(otpauthUrl: string): Promise<string> {
  return QRCode.toDataURL(otpauthUrl, { type: "image/png", errorCorrectionLevel: "M", margin: 2, width: 256 });
}

/** The current code for a base32 secret (for tests and tools). */
export function totpCode(base32: string, timeMs: number = Date.now()): string {
  return hotp(base32Decode(base32), totpStep(timeMs));
}

export type TotpResult = { ok: true; step: number } | { ok: false; reason: "format" | "mismatch" | "replayed" };

/**
 * Check `code` against the steps around `timeMs`. `lastUsedStep` is the step returned by
 * the last successful check (null if none); a match at or before it is a replay.
 */
export function verifyTotp(base32: string, code: string, lastUsedStep: number | null, timeMs: number = Date.now()): TotpResult {
  const compact = typeof code === "string" ? code.replace(/\s+/g, "") : "";
  if (!/^\d{6}$/.test(compact)) return { ok: false, reason: "format" };
  const secret = base32Decode(base32);
  const current = totpStep(timeMs);
  let replayed = false;
  for (let step = current - TOTP.window; step <= current + TOTP.window; step++) {
    if (step < 0 || !safeEqual(hotp(secret, step), compact)) continue;
    if (lastUsedStep !== null && step <= lastUsedStep) {
      replayed = true;
      continue;
    }
    return { ok: true, step };
  }
  return { ok: false, reason: replayed ? "replayed" : "mismatch" };
}
