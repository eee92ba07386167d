/**
 * Access tokens: short-lived JWTs (RFC 7519) signed with HMAC-SHA256 (HS256, the default),
 * RSA PKCS#1 v1.5 with SHA-256 (RS256) or ECDSA P-256 with SHA-256 (ES256) (RFC 7518 §3),
 * verified the way RFC 8725 (JWT Best Current Practices) asks: exactly one pinned algorithm
 * (no `none`, no algorithm confusion: an HS256 token "signed" with the RSA/EC public key as
 * an HMAC secret is refused), issuer and audience checked, expiry required, and an explicit
 * token type so other JWTs are not accepted. Every access token names the session it belongs
 * to (`sid`), so the verifier can check the session is still live: a token without one is refused.
 *
 * Keys: HS256 signs and verifies with one shared `secret`. RS256/ES256 sign with
 * `privateKey` and verify with `publicKey` (derived from the private key when only it is
 * given); both are node:crypto KeyObjects, parsed and checked once by lib/config.ts.
 * Asymmetric tokens carry a `kid` header, the RFC 7638 thumbprint of the public key, so a
 * future verifier holding several keys (rotation) can pick the right one; the single
 * configured key is what verifies today.
 *
 * jsonwebtoken turns a string key into a KeyObject on every sign and verify, and tries it as a
 * PEM key first (a throw, then `createSecretKey`): ~0.15 ms per call. So the secret becomes a
 * KeyObject once (secretKeyOf), and a private key's public half is derived once (publicKeyOf).
 */
import { createHash, createPublicKey, createSecretKey, randomBytes, type KeyObject } from "node:crypto";
import jwt from "jsonwebtoken";
import { JWT_ALGORITHMS, JWT_SECRET_MIN_BYTES, asymmetricKeyProblem, type JwtAlgorithm } from "../../lib/jwt-keys.ts";

export { JWT_ALGORITHMS, JWT_SECRET_MIN_BYTES, asymmetricKeyProblem, type JwtAlgorithm };

export const JWT_CLOCK_TOLERANCE_SEC = 5;

export interface JwtOptions {
  /** HS256 (default) | RS256 | ES256: the one algorithm signed with and accepted. */
  algorithm?: JwtAlgorithm;
  /** HS256: the shared secret (>= 32 bytes). */
  secret?: string;
  /** RS256/ES256: signs. Only nodes that issue tokens (the users service) hold it. */
  privateKey?: KeyObject | null;
  /** RS256/ES256: verifies; derived from privateKey when absent. */
  publicKey?: KeyObject | null;
  /** RS256/ES256: the `kid` header written on signing (see jwtKeyId); none when absent. */
  keyId?: string | null;
  issuer: string;
  audience: string;
  ttlSeconds: number;
}

export interface AccessClaims {
  sub: string;
  role: string;
  sid: string;
  typ: "access";
}

export type TokenErrorReason = "expired" | "invalid";

/** Why a token was refused: "expired" (ask for a refresh) or "invalid" (anything else). */
export class TokenError extends Error {
  readonly reason: TokenErrorReason;

  constructor(reason: TokenErrorReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TokenError";
    this.reason = reason;
  }
}

function algorithmOf(opts: JwtOptions): JwtAlgorithm {
  const algorithm = opts.algorithm ?? "HS256";
  if (!JWT_ALGORITHMS.includes(algorithm)) throw new Error(`JWT algorithm ${String(algorithm)} is not allowed`);
  return algorithm;
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url) of a public key (or a private key's public half): the `kid` of its tokens. */
export function jwtKeyId(key: KeyObject): string {
  const jwk = (key.type === "private" ? publicKeyOf(key) : key).export({ format: "jwk" });
  // The required members only, in lexicographic order, no whitespace (RFC 7638 §3.2).
  const members = jwk.kty === "RSA" ? { e: jwk.e, kty: jwk.kty, n: jwk.n } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y };
  return createHash("sha256").update(JSON.stringify(members)).digest("base64url");
}

function asymmetricKey(
  algorithm: Exclude<JwtAlgorithm, "HS256">,
  key: KeyObject | null | undefined,
  type: "private" | "public",
): KeyObject {
  if (!key || typeof key !== "object" || key.type !== type)
    throw new Error(`${algorithm} needs a ${type} KeyObject to ${type === "private" ? "sign" : "verify"} with`);
  if (checkedKeys.get(key) === algorithm) return key;
  const problem = asymmetricKeyProblem(algorithm, key);
  if (problem) throw new Error(`The JWT ${type} key ${problem}`);
  checkedKeys.set(key, algorithm);
  return key;
}

/** Asymmetric keys already found fit for an algorithm (the check reads the key's details on every call otherwise). */
const checkedKeys = new WeakMap<KeyObject, JwtAlgorithm>();

/** Secrets already turned into KeyObjects: one per configured secret (a few in tests), bounded all the same. */
const secretKeys = new Map<string, KeyObject>();
const SECRET_KEYS_MAX = 16;

/** The HS256 secret as a KeyObject, built once per secret. */
function secretKeyOf(secret: string): KeyObject {
  let key = secretKeys.get(secret);
  if (!key) {
    if (secretKeys.size >= SECRET_KEYS_MAX) secretKeys.clear();
    key = createSecretKey(Buffer.from(secret, "utf8"));
    secretKeys.set(secret, key);
  }
  return key;
}

/** Public halves derived from private keys, once per private key. */
const publicHalves = new WeakMap<KeyObject, KeyObject>();

function publicKeyOf(privateKey: KeyObject): KeyObject {
  let publicKey = publicHalves.get(privateKey);
  if (!publicKey) {
    publicKey = createPublicKey(privateKey);
    publicHalves.set(privateKey, publicKey);
  }
  return publicKey;
}

/** The key that verifies tokens: the secret (HS256) or the public key, derived from the private key when absent. */
function verificationKey(algorithm: JwtAlgorithm, opts: JwtOptions): KeyObject | undefined {
  if (algorithm === "HS256") return typeof opts.secret === "string" && opts.secret !== "" ? secretKeyOf(opts.secret) : undefined;
  const publicKey = opts.publicKey ?? (opts.privateKey?.type === "private" ? publicKeyOf(opts.privateKey) : null);
  return asymmetricKey(algorithm, publicKey, "public");
}

export function signAccessToken(
  claims: { sub: string; role: string; sid: string },
  opts: JwtOptions,
): { token: string; expiresIn: number } {
  const algorithm = algorithmOf(opts);
  let key: KeyObject;
  if (algorithm === "HS256") {
    if (typeof opts.secret !== "string" || Buffer.byteLength(opts.secret) < JWT_SECRET_MIN_BYTES) {
      throw new Error(`The JWT secret must be at least ${JWT_SECRET_MIN_BYTES} bytes long`);
    }
    key = secretKeyOf(opts.secret);
  } else {
    key = asymmetricKey(algorithm, opts.privateKey, "private");
  }
  if (!Number.isInteger(opts.ttlSeconds) || opts.ttlSeconds <= 0) throw new RangeError("ttlSeconds must be a positive integer");
  if (typeof claims.sub !== "string" || claims.sub === "") throw new TypeError("sub must be a non-empty string");
  if (typeof claims.role !== "string" || claims.role === "") throw new TypeError("role must be a non-empty string");
  if (typeof claims.sid !== "string" || claims.sid === "") throw new TypeError("sid must be a non-empty string");

  const payload: Record<string, string> = { role: claims.role, typ: "access", sid: claims.sid };
  const token = jwt.sign(payload, key, {
    algorithm,
    expiresIn: opts.ttlSeconds,
    issuer: opts.issuer,
    audience: opts.audience,
    subject: claims.sub,
    jwtid: randomBytes(16).toString("base64url"),
    ...(algorithm !== "HS256" && opts.keyId ? { keyid: opts.keyId } : {}),
  });
  return { token, expiresIn: opts.ttlSeconds };
}

/** The claims of a valid access token; a TokenError for anything else. */
export function verifyAccessToken(token: string, opts: JwtOptions): AccessClaims {
  const algorithm = algorithmOf(opts);
  // A missing or wrong asymmetric key is a configuration bug (an Error), not a bad token.
  const key = verificationKey(algorithm, opts);
  // No HS256 secret configured: nothing verifies (jsonwebtoken refuses a missing key the same way).
  if (!key) throw new TokenError("invalid", "The access token is not valid.");
  let payload: unknown;
  try {
    // The allow-list is exactly the configured algorithm: HS256 with a public key as the
    // HMAC secret, `none`, or ES256 where RS256 is configured never reach the key.
    payload = jwt.verify(token, key, {
      algorithms: [algorithm],
      issuer: opts.issuer,
      audience: opts.audience,
      clockTolerance: JWT_CLOCK_TOLERANCE_SEC,
    });
  } catch (err) {
    if (err instanceof jwt.TokenExpiredError) throw new TokenError("expired", "The access token has expired.", { cause: err });
    throw new TokenError("invalid", "The access token is not valid.", { cause: err });
  }
  const p = payload as Record<string, unknown> | string | null;
  if (
    typeof p !== "object" ||
    p === null ||
    p.typ !== "access" ||
    typeof p.sub !== "string" ||
    p.sub === "" ||
    typeof p.role !== "string" ||
    typeof p.exp !== "number" ||
    typeof p.sid !== "string" ||
    p.sid === ""
  ) {
    throw new TokenError("invalid", "The access token is not valid.");
  }
  return { sub: p.sub, role: p.role, typ: "access", sid: p.sid };
}
