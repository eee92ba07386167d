/**
 * A real OpenID Connect provider for tests: `oidc-provider` (the certified Node.js
 * implementation) on a free port of 127.0.0.1, with one confidential client (the shop) and
 * accounts the test defines (their claims: e-mail, whether it is verified, name). Sign-in and
 * consent are oidc-provider's own development interaction pages, which test/support/browser.ts
 * fills in as a person would.
 */
import http from "node:http";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import Provider from "oidc-provider";
import { freePort } from "../../scripts/support/free-port.ts";

export interface TestAccount {
  email?: string;
  email_verified?: boolean | string;
  name?: string;
}

export interface TestOidcProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** sub → claims; add or change accounts at any time. */
  accounts: Map<string, TestAccount>;
  /** Every request the provider received ("POST /token", …). */
  requests: string[];
  provider: Provider;
  close(): Promise<void>;
}

export async function startOidcProvider(options: { redirectUris: string[]; port?: number }): Promise<TestOidcProvider> {
  const port = options.port ?? (await freePort());
  const issuer = `http://127.0.0.1:${port}`;
  const clientId = "moleculer-shop";
  const clientSecret = randomBytes(24).toString("base64url");
  const accounts = new Map<string, TestAccount>();
  const requests: string[] = [];

  // A signing key of its own (instead of the library's built-in development key).
  const signing = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" });
  const provider = new Provider(issuer, {
    jwks: { keys: [{ ...signing, kid: "test-key", alg: "RS256", use: "sig" }] as never },
    ttl: { AuthorizationCode: 60, Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600 },
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: options.redirectUris,
        grant_types: ["authorization_code"],
        response_types: ["code"],
        token_endpoint_auth_method: "client_secret_basic",
      },
    ],
    async findAccount(_ctx, sub) {
      const claims = accounts.get(sub);
      if (!claims) return undefined;
      return { accountId: sub, claims: async () => ({ sub, ...claims }) as never };
    },
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
    pkce: { required: () => true },
    cookies: { keys: [randomBytes(32).toString("hex")] },
    features: { devInteractions: { enabled: true } },
  });
  provider.on("server_error", (_ctx, err) => console.error("oidc-provider server_error:", err));

  const callback = provider.callback();
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${(req.url ?? "").split("?")[0]}`);
    callback(req, res);
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    issuer,
    clientId,
    clientSecret,
    accounts,
    requests,
    provider,
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
