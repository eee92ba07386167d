/**
 * Presigned URLs for the local-folder store, the counterpart of S3's: an HMAC-SHA256 token
 * that names the object, the one method it allows and until when, plus the exact type and
 * size of an upload or the download name. The gateway serves them
 * (`GET|PUT /api/files/signed/<token>`); whoever holds the URL may use it until it expires,
 * exactly like an S3 presigned URL, so they are short-lived.
 *
 *   token = base64url(JSON claims) "." base64url(HMAC(key, "shop-storage-url:" + claims))
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { isValidKey } from "./object-store.ts";

export interface UrlClaims {
  /** Object key. */
  k: string;
  /** The one HTTP method this URL allows. */
  m: "GET" | "PUT";
  /** Expiry, seconds since the epoch. */
  e: number;
  /** Content type: what a PUT must declare, what a GET answers with. */
  t: string;
  /** PUT: exact size in bytes. */
  n?: number;
  /** GET: download name. */
  f?: string;
}

export class SignedUrlError extends Error {
  override name = "SignedUrlError";
  readonly reason: "malformed" | "signature" | "expired" | "method";
  constructor(reason: SignedUrlError["reason"], message: string) {
    super(message);
    this.reason = reason;
  }
}

const DOMAIN = "shop-storage-url:";

function mac(secret: string | Buffer, body: string): Buffer {
  return createHmac("sha256", secret)
    .update(DOMAIN + body)
    .digest();
}

export function signToken(claims: UrlClaims, secret: string | Buffer): string {
  const body = Buffer.from(JSON.stringify(claims)).toString("base64url");
  return `${body}.${mac(secret, body).toString("base64url")}`;
}

/** The claims of a valid, unexpired token for `method`; SignedUrlError otherwise. */
export function verifyToken(token: string, method: "GET" | "PUT", secret: string | Buffer, nowMs = Date.now()): UrlClaims {
  const [body, sig, extra] = token.split(".");
  if (!body || !sig || extra !== undefined || token.length > 4096) throw new SignedUrlError("malformed", "The signed URL is malformed.");
  // Compared in its canonical encoding: base64 has spare bits, so two strings can decode alike.
  const given = Buffer.from(sig);
  const expected = Buffer.from(mac(secret, body).toString("base64url"));
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new SignedUrlError("signature", "The signature of this URL does not match.");
  }
  let claims: UrlClaims;
  try {
    claims = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as UrlClaims;
  } catch {
    throw new SignedUrlError("malformed", "The signed URL is malformed.");
  }
  // A key no store generates (`../../etc/passwd`) is as malformed as a missing one, however it was signed.
  if (!isValidKey(claims.k) || typeof claims.e !== "number" || typeof claims.t !== "string") {
    throw new SignedUrlError("malformed", "The signed URL is malformed.");
  }
  if (claims.m !== method) throw new SignedUrlError("method", `This URL only allows ${claims.m}.`);
  if (nowMs >= claims.e * 1000) throw new SignedUrlError("expired", "This URL has expired.");
  return claims;
}
