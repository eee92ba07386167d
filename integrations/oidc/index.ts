/**
 * Signing in with an OpenID Connect provider (Google, Microsoft, Keycloak, Auth0, …) as a
 * relying party, with openid-client: the authorization code flow with PKCE (S256), `state`
 * and `nonce`. The provider's metadata is discovered on first use and kept; a failed discovery
 * is tried again on the next sign-in.
 *
 *   begin()   → the URL to send the browser to, and the three values the return needs
 *               (state, nonce, PKCE verifier): the caller keeps them server-side
 *   finish()  → the callback's parameters and those values → the person's verified claims:
 *               openid-client exchanges the code (authenticating the client), checks the
 *               state, the `iss` of the response (RFC 9207), the ID token's signature,
 *               issuer, audience, expiry and nonce; claims missing from the ID token are
 *               taken from the UserInfo endpoint (same `sub`)
 *
 * Failures are OidcErrors: "unavailable" (the provider cannot be reached or failed: 503),
 * "denied" (the person or the provider said no: the callback carried an error), "invalid"
 * (a code that is used or expired, a token that does not verify: the sign-in is refused).
 * The caller reads its configuration and passes the options in.
 */
import * as client from "openid-client";

export interface OidcProviderOptions {
  id: string;
  issuer: string;
  clientId: string;
  /** Null: a public client (no client authentication, PKCE only). */
  clientSecret: string | null;
  scopes: string[];
  redirectUri: string;
  /** Seconds for each request to the provider (discovery, token, UserInfo). */
  timeoutSec?: number;
}

export interface OidcIdentity {
  issuer: string;
  subject: string;
  email: string | null;
  emailVerified: boolean;
  name: string | null;
}

export interface OidcBegin {
  url: string;
  state: string;
  nonce: string;
  codeVerifier: string;
}

export type OidcFailure = "unavailable" | "denied" | "invalid";

export class OidcError extends Error {
  override name = "OidcError";
  readonly reason: OidcFailure;
  /** The OAuth error code when the provider gave one (access_denied, invalid_grant, …). */
  readonly oauthError: string | null;

  constructor(reason: OidcFailure, message: string, oauthError: string | null = null, cause?: unknown) {
    super(message, { cause });
    this.reason = reason;
    this.oauthError = oauthError;
  }
}

/** http:// is accepted for a provider on this machine only (tests, a local Keycloak). */
function isLoopback(url: URL): boolean {
  return ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname);
}

/** openid-client's error codes that mean the provider, not the person's answer, is the problem. */
const PROVIDER_TROUBLE = new Set([
  "OAUTH_TIMEOUT",
  "OAUTH_ABORT",
  "OAUTH_RESPONSE_IS_NOT_CONFORM", // an unexpected HTTP status (a 502 page, …)
  "OAUTH_RESPONSE_IS_NOT_JSON",
  "OAUTH_MISSING_SERVER_METADATA",
  "OAUTH_INVALID_SERVER_METADATA",
  "OAUTH_HTTP_REQUEST_FORBIDDEN", // an http:// endpoint away from this machine: configuration
  "OAUTH_UNSUPPORTED_OPERATION",
]);

/** What an error from openid-client (or from fetch under it) means for the sign-in. */
export function classify(err: unknown, provider: string): OidcError {
  if (err instanceof OidcError) return err;
  if (err instanceof client.AuthorizationResponseError) {
    return new OidcError(
      "denied",
      `${provider} did not sign you in (${err.error}${err.error_description ? `: ${err.error_description}` : ""}).`,
      err.error,
      err,
    );
  }
  if (err instanceof client.ResponseBodyError) {
    if (err.status >= 500) return new OidcError("unavailable", `${provider} failed (${err.status}).`, err.error, err);
    if (err.error === "invalid_grant")
      return new OidcError("invalid", "The sign-in code is no longer valid (used or expired): sign in again.", err.error, err);
    // invalid_client and the like: our registration at the provider is wrong; the person cannot fix it.
    return new OidcError(
      "unavailable",
      `${provider} refused the shop (${err.error}${err.error_description ? `: ${err.error_description}` : ""}).`,
      err.error,
      err,
    );
  }
  const e = err as { name?: string; message?: string; code?: string; cause?: { code?: string; message?: string } };
  // fetch's own failure (no connection, DNS, reset) is a TypeError with the system error as its cause;
  // openid-client passes it on, or wraps it when it comes from another realm (a test's VM context).
  for (
    let c = err as { name?: string; message?: string; cause?: unknown } | undefined, depth = 0;
    c && depth < 4;
    c = c.cause as typeof c, depth++
  ) {
    if (c.name === "TypeError" && /fetch failed/.test(c.message ?? "")) {
      const code =
        (c.cause as { code?: string; message?: string } | undefined)?.code ?? (c.cause as { message?: string } | undefined)?.message;
      return new OidcError("unavailable", `${provider} cannot be reached (${code ?? "fetch failed"}).`, null, err);
    }
  }
  if (err instanceof client.ClientError && e.code && PROVIDER_TROUBLE.has(e.code)) {
    return new OidcError("unavailable", `${provider} cannot be used right now (${e.message}).`, null, err);
  }
  // Everything else is a check that failed: state, iss, signature, audience, nonce, expiry.
  return new OidcError(
    "invalid",
    `The answer of ${provider} did not verify (${e?.message ?? String(err)}${e?.cause?.message ? `: ${e.cause.message}` : ""}).`,
    null,
    err,
  );
}

export class OidcProvider {
  readonly options: Readonly<OidcProviderOptions>;
  #config: Promise<client.Configuration> | null = null;

  constructor(options: OidcProviderOptions) {
    this.options = Object.freeze({ ...options, scopes: [...options.scopes] });
  }

  /** The provider's metadata and this client, discovered once (again after a failure). */
  configuration(): Promise<client.Configuration> {
    this.#config ??= (async () => {
      const issuer = new URL(this.options.issuer);
      const auth = this.options.clientSecret ? client.ClientSecretBasic(this.options.clientSecret) : client.None();
      return client.discovery(issuer, this.options.clientId, undefined, auth, {
        timeout: this.options.timeoutSec ?? 10,
        ...(issuer.protocol === "http:" && isLoopback(issuer) ? { execute: [client.allowInsecureRequests] } : {}),
      });
    })().catch((err: unknown) => {
      this.#config = null;
      throw classify(err, this.options.id);
    });
    return this.#config;
  }

  async begin(): Promise<OidcBegin> {
    const config = await this.configuration();
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: this.options.redirectUri,
      scope: this.options.scopes.join(" "),
      response_type: "code",
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: "S256",
      state,
      nonce,
    });
    return { url: url.href, state, nonce, codeVerifier };
  }

  /** `params`: the query of the request that reached the redirect URI, as it came. */
  async finish(params: URLSearchParams, expected: { state: string; nonce: string; codeVerifier: string }): Promise<OidcIdentity> {
    const config = await this.configuration();
    const current = new URL(this.options.redirectUri);
    current.search = params.toString();
    try {
      const tokens = await client.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: expected.codeVerifier,
        expectedState: expected.state,
        expectedNonce: expected.nonce,
        idTokenExpected: true,
      });
      const claims: Record<string, unknown> = { ...tokens.claims() };
      if (typeof claims.email !== "string" && config.serverMetadata().userinfo_endpoint) {
        Object.assign(claims, await client.fetchUserInfo(config, tokens.access_token, claims.sub as string), { sub: claims.sub });
      }
      const name =
        typeof claims.name === "string"
          ? claims.name
          : [claims.given_name, claims.family_name].filter((p) => typeof p === "string").join(" ") || null;
      return {
        issuer: String(claims.iss),
        subject: String(claims.sub),
        email: typeof claims.email === "string" ? claims.email : null,
        // true, or the string "true" that some providers (Cognito) send; anything else is unverified.
        emailVerified: claims.email_verified === true || claims.email_verified === "true",
        name,
      };
    } catch (err) {
      throw classify(err, this.options.id);
    }
  }
}
