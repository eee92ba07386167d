/**
 * What makes a JWT signing key acceptable (RFC 7518): the algorithms the shop signs with and
 * the minimum key sizes. Configuration checks keys with these at start-up (lib/config.ts);
 * the token code signs and verifies with them (integrations/authentication/jwt.ts).
 */
import type { KeyObject } from "node:crypto";

/** Algorithms this module signs and verifies with; a deployment picks one (JWT_ALGORITHM). */
export const JWT_ALGORITHMS = ["HS256", "RS256", "ES256"] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** RFC 7518 §3.2: an HS256 key must be at least as long as the hash output (256 bits). */
export const JWT_SECRET_MIN_BYTES = 32;
/** RFC 7518 §3.3: RSA keys of 2048 bits or more. */
export const JWT_RSA_MIN_BITS = 2048;
/**
 * What is wrong with `key` for an asymmetric algorithm, or null when it fits: RS256 wants an
 * RSA key of at least 2048 bits, ES256 an EC key on P-256. For lib/config.ts (start-up
 * errors) and for signing (integrations/authentication/jwt.ts).
 */
export function asymmetricKeyProblem(algorithm: Exclude<JwtAlgorithm, "HS256">, key: KeyObject): string | null {
  const details = key.asymmetricKeyDetails ?? {};
  if (algorithm === "RS256") {
    if (key.asymmetricKeyType !== "rsa") return `must be an RSA key for RS256 (got ${key.asymmetricKeyType ?? key.type})`;
    if ((details.modulusLength ?? 0) < JWT_RSA_MIN_BITS)
      return `must be an RSA key of at least ${JWT_RSA_MIN_BITS} bits (got ${details.modulusLength})`;
    return null;
  }
  if (key.asymmetricKeyType !== "ec") return `must be an EC P-256 key for ES256 (got ${key.asymmetricKeyType ?? key.type})`;
  if (details.namedCurve !== "prime256v1") return `must be an EC key on P-256 (prime256v1) for ES256 (got ${details.namedCurve})`;
  return null;
}
