import type { Context } from "moleculer";
import { generateKeyPairSync } from "node:crypto";
import jsonwebtoken from "jsonwebtoken";
import { signAccessToken, type JwtOptions } from "../../../../integrations/authentication/jwt.ts";
import { GatewayPrincipals, gatewayJwtOptions, PRINCIPAL_TTL_MS } from "../../../../services/api/principals.ts";
import type { Principal } from "../../../../lib/access.ts";

const jwt: JwtOptions = { secret: "k".repeat(40), issuer: "shop-test", audience: "shop-api", ttlSeconds: 900 };
const token = (sub = "u-1", sid = "s-1", opts: JwtOptions = jwt) => signAccessToken({ sub, role: "user", sid }, opts).token;

/** A context whose users.principal answers from `accounts` (null: revoked), counting the calls. */
function fakeUsers() {
  const accounts = new Map<string, Principal | null>();
  const calls: { sub: string; sid: string }[] = [];
  let hold: Promise<void> | null = null;
  const ctx = {
    async call(action: string, params: { sub: string; sid: string }) {
      expect(action).toBe("users.principal");
      calls.push(params);
      const answer = accounts.get(params.sub) ?? null;
      if (hold) await hold;
      return answer && { ...answer, sid: params.sid };
    },
  } as unknown as Context;
  return {
    ctx,
    accounts,
    calls,
    holdNext(): () => void {
      let release!: () => void;
      hold = new Promise((r) => (release = r));
      return () => {
        hold = null;
        release();
      };
    },
  };
}

function principals() {
  let now = 0;
  return { p: new GatewayPrincipals(jwt, { now: () => now }), tick: (ms: number) => (now += ms) };
}

test("a principal is asked of the users service once, then served from the gateway's cache until its TTL", async () => {
  const users = fakeUsers();
  users.accounts.set("u-1", { id: "u-1", role: "user", email: "a@example.com" });
  const { p, tick } = principals();
  const t = token();
  expect(await p.authenticate(users.ctx, t)).toEqual({ id: "u-1", role: "user", email: "a@example.com", sid: "s-1" });
  expect(await p.authenticate(users.ctx, t)).toEqual({ id: "u-1", role: "user", email: "a@example.com", sid: "s-1" });
  expect(users.calls).toEqual([{ sub: "u-1", sid: "s-1" }]);
  // Another session of the same account is its own entry (its revocation is its own).
  await p.authenticate(users.ctx, token("u-1", "s-2"));
  expect(users.calls).toHaveLength(2);
  // Past the TTL the users service is asked again: a missed broadcast ends within PRINCIPAL_TTL_MS.
  users.accounts.set("u-1", null);
  tick(PRINCIPAL_TTL_MS);
  await expect(p.authenticate(users.ctx, t)).rejects.toMatchObject({
    code: 401,
    type: "INVALID_TOKEN",
    message: "The access token is no longer valid.",
  });
});

test("forgetAll (cache.clean.users) makes a revoked session, a demoted or a deleted account count at once", async () => {
  const users = fakeUsers();
  users.accounts.set("u-1", { id: "u-1", role: "admin" });
  const { p } = principals();
  expect((await p.authenticate(users.ctx, token())).role).toBe("admin");
  users.accounts.set("u-1", { id: "u-1", role: "user" });
  expect((await p.authenticate(users.ctx, token())).role).toBe("admin"); // cached, as the broadcast has not come yet
  p.forgetAll();
  expect((await p.authenticate(users.ctx, token())).role).toBe("user");
  users.accounts.delete("u-1");
  p.forgetAll();
  await expect(p.authenticate(users.ctx, token())).rejects.toMatchObject({ code: 401, type: "INVALID_TOKEN" });
  expect(p.size).toBe(0); // a refusal is not cached
});

test("a lookup that started before a forget does not store its answer", async () => {
  const users = fakeUsers();
  users.accounts.set("u-1", { id: "u-1", role: "admin" });
  const { p } = principals();
  const release = users.holdNext();
  const pending = p.authenticate(users.ctx, token()); // answered "admin" ...
  p.forgetAll(); // ... but the demotion's broadcast came while it was on its way
  release();
  expect((await pending).role).toBe("admin");
  expect(p.size).toBe(0);
});

test("the token itself is checked on every request, cached principal or not", async () => {
  const users = fakeUsers();
  users.accounts.set("u-1", { id: "u-1", role: "user" });
  const { p } = principals();
  await p.authenticate(users.ctx, token());
  const forged = token("u-1", "s-1", { ...jwt, secret: "x".repeat(40) });
  await expect(p.authenticate(users.ctx, forged)).rejects.toMatchObject({
    code: 401,
    type: "INVALID_TOKEN",
    message: "The access token is not valid.",
  });
  const past = Math.floor(Date.now() / 1000) - 60;
  const expired = jsonwebtoken.sign(
    { sub: "u-1", role: "user", sid: "s-1", typ: "access", iss: jwt.issuer, aud: jwt.audience, exp: past },
    jwt.secret!,
  );
  await expect(p.authenticate(users.ctx, expired)).rejects.toMatchObject({ code: 401, message: "The access token has expired." });
  expect(users.calls).toHaveLength(1);
});

test("the gateway verifies with JWT_SECRET, or with the public key; without a key it leaves it to the users service", () => {
  const auth = { issuer: "i", audience: "a", accessTtlSec: 900 } as const;
  expect(gatewayJwtOptions({ jwt: { algorithm: "HS256", secret: "k".repeat(40), privateKey: null, publicKey: null }, auth })).toMatchObject(
    {
      algorithm: "HS256",
      secret: "k".repeat(40),
      issuer: "i",
      audience: "a",
    },
  );
  const { publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  expect(gatewayJwtOptions({ jwt: { algorithm: "ES256", secret: null, privateKey: null, publicKey }, auth })).toMatchObject({
    algorithm: "ES256",
    publicKey,
  });
  expect(gatewayJwtOptions({ jwt: { algorithm: "ES256", secret: null, privateKey: null, publicKey: null }, auth })).toBeNull();
});
