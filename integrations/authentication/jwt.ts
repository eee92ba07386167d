/**
 * Access tokens: short-lived JWTs (RFC 7519) signed with HMAC-SHA256 (RFC 7518 §3.2),
 * verified the way RFC 8725 (JWT Best Current Practices) asks: one pinned algorithm from
 * an explicit allow-list (no `none`, no algorithm confusion), issuer and audience
 * checked, expiry required, and an explicit token type so other JWTs are not accepted.
 */
import { randomBytes } from "node:crypto";
import jwt from "jsonwebtoken";

/** Algorithms this module signs and verifies with. Add "RS256" / "ES256" here (with key handling). */
export const JWT_ALGORITHMS = ["HS256"] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** RFC 7518 §3.2: an HS256 key must be at least as long as the hash output (256 bits). */
export const JWT_SECRET_MIN_BYTES = 32;
export const JWT_CLOCK_TOLERANCE_SEC = 5;

export interface JwtOptions {
  secret: string;
  issuer: string;
  audience: string;
  ttlSeconds: number;
  algorithm?: JwtAlgorithm;
}

export interface AccessClaims {
  sub: string;
  role: string;
  sid?: string;
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

export function signAccessToken(
  claims: { sub: string; role: string; sid?: string },
  opts: JwtOptions,
): { token: string; expiresIn: number } {
  const algorithm = algorithmOf(opts);
  if (typeof opts.secret !== "string" || Buffer.byteLength(opts.secret) < JWT_SECRET_MIN_BYTES) {
    throw new Error(`The JWT secret must be at least ${JWT_SECRET_MIN_BYTES} bytes long`);
  }
  if (!Number.isInteger(opts.ttlSeconds) || opts.ttlSeconds <= 0) throw new RangeError("ttlSeconds must be a positive integer");
  if (typeof claims.sub !== "string" || claims.sub === "") throw new TypeError("sub must be a non-empty string");
  if (typeof claims.role !== "string" || claims.role === "") throw new TypeError("role must be a non-empty string");

  const payload: Record<string, string> = { role: claims.role, typ: "access" };
  if (claims.sid !== undefined) payload.sid = claims.sid;
  const token = jwt.sign(payload, opts.secret, {
    algorithm,
    expiresIn: opts.ttlSeconds,
    issuer: opts.issuer,
    audience: opts.audience,
    subject: claims.sub,
    jwtid: randomBytes(16).toString("base64url"),
  });
  return { token, expiresIn: opts.ttlSeconds };
}

/** The claims of a valid access token; a TokenError for anything else. */
export function verifyAccessToken(token: string, opts: JwtOptions): AccessClaims {
  let payload: unknown;
  try {
    payload = jwt.verify(token, opts.secret, {
      algorithms: [algorithmOf(opts)],
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
    (p.sid !== undefined && typeof p.sid !== "string")
  ) {
    throw new TokenError("invalid", "The access token is not valid.");
  }
  return { sub: p.sub, role: p.role, typ: "access", ...(typeof p.sid === "string" ? { sid: p.sid } : {}) };
}
