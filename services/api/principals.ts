/**
 * Bearer tokens checked at the gateway. The token's signature, algorithm, issuer, audience,
 * expiry, type and session id are verified here, on every request, with the same code and key as
 * the users service; who the token's subject is *now* (the account still active, its role, the
 * session not revoked or expired; for an API client, the client and its creator) is asked of
 * `users.principal` on a miss only and kept for PRINCIPAL_TTL_MS.
 *
 * Revocation: the users service broadcasts `cache.clean.users` after every change that can end
 * or change a principal (logout, password change or reset, deactivation, role change, deletion of
 * a user or a client, refresh-token reuse, OpenID linking): the gateway then forgets every
 * principal, so it takes effect as soon as the broadcast arrives (milliseconds). A gateway that
 * misses a broadcast (its RabbitMQ connection dropped: it also forgets everything when it
 * reconnects) serves a principal for at most PRINCIPAL_TTL_MS more. A signed-in caller's change to
 * the users service through this gateway (any method but GET) makes it forget every principal
 * before the answer is sent, so whoever logs out, or demotes or deactivates someone, never sees
 * the old principal served by that gateway again. Lookups that started before a forget are not kept.
 */
import type { Context } from "moleculer";
import { TokenError, verifyAccessToken, type JwtOptions } from "../../integrations/authentication/jwt.ts";
import type { Config } from "../../lib/config.ts";
import type { Principal } from "../../lib/access.ts";
import { unauthorized } from "../../lib/errors.ts";
import { TtlCache } from "../../lib/ttl-cache.ts";

/** How long the gateway serves a principal without asking the users service again (the bound on a missed broadcast). */
export const PRINCIPAL_TTL_MS = 10_000;
/** Principals kept at most (one per live session in use); the least recently used go first. */
export const PRINCIPAL_CACHE_MAX = 10_000;

/**
 * How this gateway verifies access tokens, or null when it holds no key to verify with
 * (RS256/ES256 without JWT_PUBLIC_KEY or JWT_PRIVATE_KEY): it then asks the users service to.
 */
export function gatewayJwtOptions(cfg: {
  jwt: Config["jwt"];
  auth: Pick<Config["auth"], "issuer" | "audience" | "accessTtlSec">;
}): JwtOptions | null {
  const { algorithm, secret, publicKey } = cfg.jwt;
  if (algorithm === "HS256" ? !secret : !publicKey) return null;
  return {
    algorithm,
    ...(secret ? { secret } : {}),
    publicKey,
    issuer: cfg.auth.issuer,
    audience: cfg.auth.audience,
    // Verifying only; signing is the users service's.
    ttlSeconds: cfg.auth.accessTtlSec,
  };
}

export interface GatewayPrincipalsOptions {
  ttlMs?: number;
  maxEntries?: number;
  now?: () => number;
}

export class GatewayPrincipals {
  readonly #jwt: JwtOptions;
  readonly #cache: TtlCache<Principal>;
  /** Bumped on every forget: a lookup that started before it does not store its (maybe stale) answer. */
  #generation = 0;

  constructor(jwt: JwtOptions, options: GatewayPrincipalsOptions = {}) {
    this.#jwt = jwt;
    this.#cache = new TtlCache<Principal>({
      ttlMs: options.ttlMs ?? PRINCIPAL_TTL_MS,
      maxEntries: options.maxEntries ?? PRINCIPAL_CACHE_MAX,
      ...(options.now ? { now: options.now } : {}),
    });
  }

  get size(): number {
    return this.#cache.size;
  }

  /** The principal behind a bearer token; the users service's own 401s for a bad or dead one. */
  async authenticate(ctx: Context, token: string): Promise<Principal> {
    let claims;
    try {
      claims = verifyAccessToken(token, this.#jwt);
    } catch (err) {
      if (err instanceof TokenError)
        throw unauthorized(err.reason === "expired" ? "The access token has expired." : "The access token is not valid.", "INVALID_TOKEN");
      throw err;
    }
    const key = `${claims.sub}\u0000${claims.sid}`;
    const known = this.#cache.get(key);
    if (known) return { ...known };
    const generation = this.#generation;
    const principal = await ctx.call<Principal | null, { sub: string; sid: string }>("users.principal", {
      sub: claims.sub,
      sid: claims.sid,
    });
    if (!principal) throw unauthorized("The access token is no longer valid.", "INVALID_TOKEN");
    if (generation === this.#generation) this.#cache.set(key, { ...principal });
    return principal;
  }

  /** Something about some principal changed (`cache.clean.users`), or broadcasts may have been missed. */
  forgetAll(): void {
    this.#generation++;
    this.#cache.clear();
  }
}
