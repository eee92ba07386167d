/**
 * Device tokens: OWASP's "device cookies" (Authentication Cheat Sheet, "Account lockout" and
 * the Slow Brute Force Protection proposal they cite). After a successful sign-in the browser
 * (or script) gets a token naming the account and a random nonce, MACed with a server key.
 * A later sign-in to the same account that presents it is a *known client*: it is throttled by
 * its own failure budget (per nonce), not by the account's lock-out for strangers, so ten wrong
 * passwords from anyone else do not keep the owner out.
 *
 *   token = "d1." nonce "." userId "." expiry (seconds) "." base64url(HMAC-SHA256(key, "shop-device:" + the rest))
 *
 * The token proves nothing about the password: it only chooses which budget an attempt counts
 * against, so it is no credential (and not a CSRF target).
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export const DEVICE_TOKEN_VERSION = "d1";
/** Longer than this is not a device token (the gateway drops it unread). */
export const DEVICE_TOKEN_MAX_LENGTH = 256;

export interface DeviceClaims {
  /** The account the token was issued to. */
  userId: string;
  /** Random, per token: the key of its own failure budget. */
  nonce: string;
  /** Seconds since the epoch. */
  expiresAt: number;
}

function mac(key: Buffer, body: string): string {
  return createHmac("sha256", key).update(`shop-device:${body}`).digest("base64url");
}

function checkKey(key: Buffer): void {
  if (!Buffer.isBuffer(key) || key.length < 32) throw new RangeError("The device token key must be at least 32 bytes");
}

/** A new token for `userId`, valid for `ttlSec`. */
export function issueDeviceToken(userId: string, key: Buffer, ttlSec: number, nowMs = Date.now()): string {
  checkKey(key);
  if (typeof userId !== "string" || !/^[A-Za-z0-9-]{1,64}$/.test(userId))
    throw new TypeError("userId must be 1-64 characters of A-Za-z0-9-");
  if (!Number.isInteger(ttlSec) || ttlSec < 1) throw new RangeError("ttlSec must be a positive integer");
  const body = [DEVICE_TOKEN_VERSION, randomBytes(16).toString("base64url"), userId, String(Math.floor(nowMs / 1000) + ttlSec)].join(".");
  return `${body}.${mac(key, body)}`;
}

/** The claims of a genuine, unexpired token; null for anything else (never throws on input). */
export function readDeviceToken(token: unknown, key: Buffer, nowMs = Date.now()): DeviceClaims | null {
  checkKey(key);
  if (typeof token !== "string" || token.length > DEVICE_TOKEN_MAX_LENGTH) return null;
  const parts = token.split(".");
  if (parts.length !== 5 || parts[0] !== DEVICE_TOKEN_VERSION) return null;
  const [, nonce, userId, expiry, signature] = parts as [string, string, string, string, string];
  const expected = Buffer.from(mac(key, parts.slice(0, 4).join(".")));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  if (!/^\d{1,12}$/.test(expiry) || Number(expiry) * 1000 <= nowMs) return null;
  return { userId, nonce, expiresAt: Number(expiry) };
}
