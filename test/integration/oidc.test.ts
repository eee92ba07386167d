/**
 * Sign-in with an OpenID Connect provider, end to end and browser-free: a real provider
 * (`oidc-provider`, test/support/oidc-provider.ts) and the shop on PostgreSQL; a cookie-keeping
 * fetch (test/support/browser.ts) follows the redirects and fills in the provider's sign-in
 * and consent pages. New accounts, linking by verified e-mail, the refused unverified e-mail,
 * tampered state, replayed callbacks and codes, another browser, a second factor that is
 * still asked for, the provider saying no, the provider being down.
 */
import { randomUUID } from "node:crypto";
import jwt from "jsonwebtoken";
import { QueryTypes, type Sequelize } from "sequelize";
import { describeWithServers } from "../support/servers.ts";
import { startTestShop, type TestNode } from "../support/node.ts";
import { shopClient, PASSWORD } from "../support/shop-client.ts";
import { startOidcProvider, type TestOidcProvider } from "../support/oidc-provider.ts";
import { Browser } from "../support/browser.ts";
import { freePort } from "../../scripts/support/free-port.ts";
import { totpCode } from "../../integrations/authentication/index.ts";

const suite = await describeWithServers("postgres");

suite("sign-in with an OpenID Connect provider", () => {
  let node: TestNode & { databaseUrl: string };
  let idp: TestOidcProvider;
  let db: Sequelize;
  let callbackUrl: string;

  const { http, as } = shopClient(() => node);
  const otherIp = () => `10.1.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;

  /** An account at the provider; its subject. */
  function person(claims: { email?: string; email_verified?: boolean | string; name?: string } = {}) {
    const sub = `sub-${randomUUID().slice(0, 8)}`;
    idp.accounts.set(sub, { email: `${sub}@example.com`, email_verified: true, name: "Ada Lovelace", ...claims });
    return sub;
  }

  /** Start at the shop, sign in and consent at the provider; the callback URL the provider sent the browser to (not yet opened). */
  async function toCallback(sub: string, browser = new Browser()) {
    const { stoppedAt, page } = await browser.browse(`${node.api}/auth/oidc/test`, {
      stopAt: (url) => url.href.startsWith(callbackUrl),
      fill: (fields) => (fields.prompt === "login" ? { ...fields, login: sub, password: "anything" } : fields),
    });
    if (!stoppedAt) throw new Error(`The flow stopped at ${page.url.href} (${page.status}): ${page.text.slice(0, 300)}`);
    return { browser, callback: stoppedAt };
  }

  /** The whole sign-in: the shop's answer to the callback. */
  async function signIn(sub: string, browser = new Browser()) {
    const { callback } = await toCallback(sub, browser);
    const res = await browser.request(callback);
    return { status: res.status, body: JSON.parse(res.text), headers: res.headers, browser };
  }

  const identities = (where: string, replacements: Record<string, unknown>) =>
    db.query<{ userId: string; provider: string; subject: string; email: string }>(`SELECT * FROM user_identities WHERE ${where}`, {
      replacements,
      type: QueryTypes.SELECT,
    });

  beforeAll(async () => {
    const port = await freePort();
    callbackUrl = `http://127.0.0.1:${port}/api/auth/oidc/test/callback`;
    idp = await startOidcProvider({ redirectUris: [callbackUrl] });
    node = await startTestShop("oidc", {
      PORT: String(port),
      APP_URL: `http://127.0.0.1:${port}`,
      CACHER: "memory",
      // As behind a proxy on this machine: X-Forwarded-For says who the client is.
      TRUST_PROXY: "loopback",
      RATE_LIMIT_FACTOR: "100",
      OIDC_PROVIDERS: "test,down",
      OIDC_TEST_ISSUER: idp.issuer,
      OIDC_TEST_CLIENT_ID: idp.clientId,
      OIDC_TEST_CLIENT_SECRET: idp.clientSecret,
      OIDC_TEST_NAME: "Test IdP",
      OIDC_DOWN_ISSUER: `http://127.0.0.1:${await freePort()}`,
      OIDC_DOWN_CLIENT_ID: "nobody-answers",
    });
    db = (node.broker.getLocalService("users") as any).adapter.db;
  }, 60_000); // an RSA key, a provider and a migrated shop: ~3 s on an idle machine, the margin is for a loaded one
  afterAll(async () => {
    await node?.stop();
    await idp?.close();
  });

  test("GET /auth/oidc lists the providers", async () => {
    expect(await http(`/auth/oidc`)).toMatchObject({
      status: 200,
      body: {
        providers: [
          { id: "test", name: "Test IdP", url: "/api/auth/oidc/test" },
          { id: "down", name: "Down", url: "/api/auth/oidc/down" },
        ],
      },
    });
    expect((await http(`/auth/oidc/nope`)).status).toBe(404);
  });

  test("a new person: a redirect with PKCE, state and nonce; the callback creates a verified account and gives tokens", async () => {
    const sub = person({ name: "Grace Hopper" });
    const browser = new Browser();
    const start = await browser.request(`${node.api}/auth/oidc/test`);
    expect(start.status).toBe(302);
    const to = new URL(start.headers.get("location")!);
    expect(to.origin + to.pathname).toBe(`${idp.issuer}/auth`);
    const q = Object.fromEntries(to.searchParams);
    expect(q).toMatchObject({
      response_type: "code",
      client_id: idp.clientId,
      redirect_uri: callbackUrl,
      scope: "openid email profile",
      code_challenge_method: "S256",
    });
    expect(q.code_challenge).toMatch(/^[\w-]{43}$/);
    expect(q.state).toMatch(/^[\w-]{40,}$/);
    expect(q.nonce).toMatch(/^[\w-]{40,}$/);
    expect(start.headers.get("set-cookie")).toMatch(
      /^shop_oidc_test=[\w-]{43}; Path=\/api\/auth\/oidc\/test\/callback; Max-Age=600; HttpOnly; SameSite=Lax$/,
    );
    // The PKCE verifier never leaves the shop (only its S256 challenge does), nor is it stored in the clear.
    const [flow] = await db.query<{ codeVerifier: string; stateHash: string }>(
      `SELECT * FROM oidc_flows ORDER BY "createdAt" DESC LIMIT 1`,
      { type: QueryTypes.SELECT },
    );
    expect(flow!.codeVerifier).toMatch(/^v1\./);
    expect(flow!.stateHash).not.toBe(q.state);

    const { callback } = await toCallback(sub, browser);
    expect(Object.fromEntries(callback.searchParams)).toEqual({ code: expect.any(String), state: expect.any(String), iss: idp.issuer });
    const res = await browser.request(callback, { headers: { "x-forwarded-for": "198.51.100.40" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(browser.cookie("shop_oidc_test")).toBeUndefined(); // spent
    const tokens = JSON.parse(res.text);
    expect(tokens).toMatchObject({ tokenType: "Bearer", accessToken: expect.any(String), refreshToken: expect.any(String) });
    // Signed in as every sign-in is: the spent flow cookie and a device cookie, a session (its id in
    // the token) recorded with the client's address behind the trusted proxy, an address the account now knows.
    expect(res.headers.getSetCookie()).toEqual([
      expect.stringMatching(/^shop_oidc_test=; Path=\/api\/auth\/oidc\/test\/callback; Max-Age=0; HttpOnly; SameSite=Lax$/),
      expect.stringMatching(/^shop_device=[^;]+; Path=\/api; Max-Age=\d+; HttpOnly; SameSite=Strict$/),
    ]);
    expect(browser.cookie("shop_device")).toEqual(expect.any(String));
    const { sub: userId, sid } = jwt.decode(tokens.accessToken) as { sub: string; sid: string };
    const sessions = await db.query(`SELECT "userId", ip FROM user_sessions WHERE id = :sid`, {
      replacements: { sid },
      type: QueryTypes.SELECT,
    });
    expect(sessions).toEqual([{ userId, ip: "198.51.100.40" }]);
    const users = node.broker.getLocalService("users") as unknown as { knownAddresses: { has(key: string): Promise<boolean> } };
    expect(await users.knownAddresses.has(`${userId}|198.51.100.40`)).toBe(true);
    const me = await http(`/users/me`, { headers: as(tokens.accessToken) });
    expect(me.body).toMatchObject({
      email: `${sub}@example.com`,
      name: "Grace Hopper",
      emailVerified: true,
      role: "user",
      twoFactorEnabled: false,
    });
    expect(await identities(`subject = :sub`, { sub })).toEqual([expect.objectContaining({ userId: me.body.id, provider: "test" })]);
    // The code was exchanged at the token endpoint, the e-mail came from UserInfo (not in a code flow's ID token).
    expect(idp.requests).toEqual(expect.arrayContaining(["POST /token", "GET /me"]));
  });

  test("the same person again is the same account, even after changing their e-mail at the provider", async () => {
    const sub = person();
    const first = await signIn(sub);
    const firstMe = await http(`/users/me`, { headers: as(first.body.accessToken) });
    idp.accounts.set(sub, { ...idp.accounts.get(sub), email: `moved-${sub}@example.com` });
    const second = await signIn(sub);
    expect((await http(`/users/me`, { headers: as(second.body.accessToken) })).body.id).toBe(firstMe.body.id);
  });

  test("linking: an existing verified account with that e-mail is signed in, its password still works", async () => {
    const email = `linked-${randomUUID().slice(0, 8)}@example.com`;
    const user = await node.broker.call<any, any>(
      "users.register",
      { email, password: PASSWORD, name: "Lin" },
      { meta: { ip: otherIp() } },
    );
    await db.query(`UPDATE users SET "emailVerified" = true WHERE id = :id`, { replacements: { id: user.id } });
    const sub = person({ email: email.toUpperCase() });
    const res = await signIn(sub);
    expect(res.status).toBe(200);
    expect((await http(`/users/me`, { headers: as(res.body.accessToken) })).body).toMatchObject({
      id: user.id,
      name: "Lin",
    });
    expect(await identities(`"userId" = :id`, { id: user.id })).toHaveLength(1);
    expect((await http(`/auth/login`, { method: "POST", json: { email, password: PASSWORD } })).status).toBe(200);
  });

  test("linking an account whose address was never verified: whoever registered it loses the password and sessions", async () => {
    const email = `squatted-${randomUUID().slice(0, 8)}@example.com`;
    await node.broker.call<any, any>("users.register", { email, password: PASSWORD, name: "Squatter" }, { meta: { ip: otherIp() } });
    const squatter = await node.broker.call<any, any>("users.login", { email, password: PASSWORD }, { meta: { ip: otherIp() } });
    const res = await signIn(person({ email }));
    expect(res.status).toBe(200);
    expect((await http(`/users/me`, { headers: as(res.body.accessToken) })).body).toMatchObject({
      email,
      emailVerified: true,
    });
    expect((await http(`/users/me`, { headers: as(squatter.accessToken) })).status).toBe(401);
    expect((await http(`/auth/login`, { method: "POST", json: { email, password: PASSWORD } })).status).toBe(401);
  });

  test.each([
    ["email_verified false", { email_verified: false }],
    ["email_verified missing", { email_verified: undefined }],
    ["no e-mail at all", { email: undefined }],
  ])("refused: %s → 403, no account made or linked", async (_label, claims) => {
    const sub = person(claims as never);
    const email = `${sub}@example.com`;
    const res = await signIn(sub);
    expect(res).toMatchObject({ status: 403, body: { type: "OIDC_EMAIL_UNVERIFIED" } });
    expect(await db.query(`SELECT id FROM users WHERE email = :email`, { replacements: { email }, type: QueryTypes.SELECT })).toEqual([]);
    expect(await identities(`subject = :sub`, { sub })).toEqual([]);
  });

  test("tampered state is refused; the genuine answer still works afterwards", async () => {
    const { browser, callback } = await toCallback(person());
    const tampered = new URL(callback);
    tampered.searchParams.set("state", `${callback.searchParams.get("state")!.slice(0, -2)}xy`);
    const refused = await browser.request(tampered);
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.text)).toMatchObject({ type: "OIDC_INVALID_STATE" });
    expect((await browser.request(callback)).status).toBe(200);
  });

  test("a replayed callback is refused, and so is a replayed code under a fresh state", async () => {
    const sub = person();
    const { browser, callback } = await toCallback(sub);
    expect((await browser.request(callback)).status).toBe(200);
    const replay = await browser.request(callback);
    expect(replay.status).toBe(401);
    expect(JSON.parse(replay.text)).toMatchObject({ type: "OIDC_INVALID_STATE" });

    // An attacker holding the used code starts a flow of their own and sends that code with it.
    const attacker = new Browser();
    const start = await attacker.request(`${node.api}/auth/oidc/test`);
    const freshState = new URL(start.headers.get("location")!).searchParams.get("state")!;
    const forged = new URL(callback);
    forged.searchParams.set("state", freshState);
    const res = await attacker.request(forged);
    expect(res.status).toBe(401);
    expect(JSON.parse(res.text)).toMatchObject({ type: "OIDC_INVALID" });
  });

  test("the answer opened in another browser than the one that started is refused", async () => {
    const { callback } = await toCallback(person());
    const res = await new Browser().request(callback);
    expect(res.status).toBe(401);
    expect(JSON.parse(res.text)).toMatchObject({ type: "OIDC_INVALID_STATE", message: expect.stringMatching(/another browser/) });
  });

  test("an account with two-factor authentication still passes its second factor", async () => {
    const sub = person();
    const first = await signIn(sub);
    const setup = await http(`/auth/2fa/setup`, { method: "POST", headers: as(first.body.accessToken) });
    const enabled = await http(`/auth/2fa/enable`, {
      method: "POST",
      headers: as(first.body.accessToken),
      json: { code: totpCode(setup.body.secret, Date.now() - 30_000) },
    });
    expect(enabled.status).toBe(200);
    const second = await signIn(sub);
    expect(second).toMatchObject({ status: 200, body: { mfaRequired: true, mfaToken: expect.any(String), methods: ["totp", "recovery"] } });
    expect(second.body.accessToken).toBeUndefined();
    const done = await http(`/auth/login/totp`, {
      method: "POST",
      json: { mfaToken: second.body.mfaToken, code: totpCode(setup.body.secret) },
    });
    expect(done).toMatchObject({ status: 200, body: { tokenType: "Bearer" } });
  });

  test("the provider says no (access_denied): 401 OIDC_DENIED", async () => {
    const browser = new Browser();
    const start = await browser.request(`${node.api}/auth/oidc/test`);
    const state = new URL(start.headers.get("location")!).searchParams.get("state")!;
    const denied = new URL(callbackUrl);
    denied.search = new URLSearchParams({
      error: "access_denied",
      error_description: "End-User aborted interaction",
      state,
      iss: idp.issuer,
    }).toString();
    const res = await browser.request(denied);
    expect(res.status).toBe(401);
    expect(JSON.parse(res.text)).toMatchObject({ type: "OIDC_DENIED", message: expect.stringMatching(/access_denied/) });
  });

  test("a deactivated account is refused", async () => {
    const sub = person();
    const first = await signIn(sub);
    const id = (await http(`/users/me`, { headers: as(first.body.accessToken) })).body.id;
    await db.query(`UPDATE users SET active = false WHERE id = :id`, { replacements: { id } });
    expect(await signIn(sub)).toMatchObject({ status: 403, body: { type: "ACCOUNT_INACTIVE" } });
  });

  test("a provider that cannot be reached: 503 with Retry-After, nothing stored", async () => {
    const res = await http(`/auth/oidc/down`, { redirect: "manual" });
    expect(res).toMatchObject({ status: 503, body: { type: "OIDC_PROVIDER_UNAVAILABLE" } });
    expect(res.headers.get("retry-after")).toBeTruthy();
    expect(await db.query(`SELECT id FROM oidc_flows WHERE provider = 'down'`, { type: QueryTypes.SELECT })).toEqual([]);
  });

  test("the OpenAPI document describes the three routes", async () => {
    const doc = (await http(`/openapi.json`)).body;
    const start = doc.paths["/api/auth/oidc/{provider}"].get;
    expect(start).toMatchObject({ operationId: "users.oidcStart", security: [] });
    expect(Object.keys(start.responses)).toEqual(["302", "404", "422", "429", "503"]);
    const callback = doc.paths["/api/auth/oidc/{provider}/callback"].get;
    expect(callback.parameters.map((p: any) => `${p.name}:${p.in}`)).toEqual([
      "provider:path",
      "state:query",
      "code:query",
      "iss:query",
      "error:query",
      "error_description:query",
    ]);
    expect(Object.keys(callback.responses)).toEqual(["200", "401", "403", "404", "422", "429", "503"]);
    expect(doc.paths["/api/auth/oidc"].get.operationId).toBe("users.oidcProviders");
  });
});
