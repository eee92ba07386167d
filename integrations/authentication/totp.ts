/**
 * Time-based one-time passwords, RFC 6238 (TOTP over RFC 4226 HOTP) with the parameters
 * every authenticator app supports: HMAC-SHA-1, 30-second steps, 6 digits, and a ±1 step
 * window for clock drift (§5.2). speakeasy is the engine: it makes the secrets, the
 * Google Authenticator Key URI (otpauth://) and the codes, and searches the window. What it
 * does not do is this module's: a code is accepted once (the caller stores the returned step
 * and passes it back, and a code from that step or an earlier one is refused, RFC 6238 §5.2),
 * codes are exactly six ASCII digits (speakeasy would parseInt "12a456" into 12), and the
 * enrolment QR code is drawn locally (speakeasy's own QR helper calls a Google web service).
 *
 * speakeasy, qrcode and pngjs (~20 MB of RSS together) are loaded on first use: most users nodes
 * never see a second factor between restarts, and other roles import this module only to reach
 * its neighbours.
 */
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
/**
 * speakeasy and qrcode, loaded the first time they are needed (CommonJS packages: loaded
 * synchronously, and kept by Node's module cache from then on).
 */
const engine = (): typeof import("speakeasy") => require("speakeasy");
const qrCode = (): typeof import("qrcode") => require("qrcode");

/**
 * `secretLength`: characters of speakeasy's ASCII secret. Its alphabet maps a random byte to one
 * of ~83 symbols (about 6.4 bits each), so 32 characters carry ~200 bits, past RFC 4226 §4's
 * 160-bit recommendation; the app receives those 32 bytes as 52 base32 characters.
 */
export const TOTP = { digits: 6, periodSec: 30, window: 1, secretLength: 32 } as const;

/** The RFC 6238 time step (T) that `timeMs` falls in. */
export function totpStep(timeMs: number = Date.now()): number {
  return Math.floor(timeMs / 1000 / TOTP.periodSec);
}

/** A new secret (base32, as apps take it) and its otpauth:// enrolment URL. */
export function createTotpSecret(accountName: string, issuer: string): { base32: string; otpauthUrl: string } {
  for (const [what, value] of [
    ["accountName", accountName],
    ["issuer", issuer],
  ] as const) {
    if (typeof value !== "string" || value.trim() === "" || value.includes(":")) {
      throw new TypeError(`${what} must be a non-empty string without ":" (Key URI format)`);
    }
  }
  const { base32 } = engine().generateSecret({ length: TOTP.secretLength, symbols: true, otpauth_url: false });
  const otpauthUrl = engine().otpauthURL({
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
  return qrCode().toDataURL(otpauthUrl, { type: "image/png", errorCorrectionLevel: "M", margin: 2, width: 256 });
}

/** The code of a base32 secret at `timeMs` (for tests and tools). */
export function totpCode(base32: string, timeMs: number = Date.now()): string {
  return engine().totp({ secret: base32, encoding: "base32", counter: totpStep(timeMs), digits: TOTP.digits });
}

export type TotpResult = { ok: true; step: number } | { ok: false; reason: "format" | "mismatch" | "replayed" };

/** The step in [from, to] whose code is `code` (speakeasy searches the range), or null. */
function matchingStep(base32: string, code: string, from: number, to: number): number | null {
  if (to < from) return null;
  const found = engine().hotp.verifyDelta({
    secret: base32,
    encoding: "base32",
    token: code,
    counter: from,
    window: to - from,
    digits: TOTP.digits,
  });
  return found ? from + found.delta : null;
}

/**
 * Check `code` against the steps around `timeMs` (the window). `lastUsedStep` is the step
 * returned by the last successful check (null if none); a match at or before it is a replay.
 */
export function verifyTotp(base32: string, code: string, lastUsedStep: number | null, timeMs: number = Date.now()): TotpResult {
  const compact = typeof code === "string" ? code.replace(/\s+/g, "") : "";
  if (!/^[0-9]{6}$/.test(compact)) return { ok: false, reason: "format" };
  const current = totpStep(timeMs);
  const found = engine().totp.verifyDelta({
    secret: base32,
    encoding: "base32",
    token: compact,
    counter: current,
    window: TOTP.window,
    digits: TOTP.digits,
  });
  if (!found) return { ok: false, reason: "mismatch" };
  const step = current + found.delta;
  if (lastUsedStep === null || step > lastUsedStep) return { ok: true, step };
  // The earliest match was used already; a later step of the window may still show the same digits.
  const later = matchingStep(base32, compact, lastUsedStep + 1, current + TOTP.window);
  return later === null ? { ok: false, reason: "replayed" } : { ok: true, step: later };
}
