import { generateKeyPairSync } from "node:crypto";
import jwt from "jsonwebtoken";
import {
  JWT_ALGORITHMS,
  TokenError,
  signAccessToken,
  verifyAccessToken,
  type JwtOptions,
} from "../../../integrations/authentication/jwt.ts";

const opts: JwtOptions = { secret: "s".repeat(16) + "0123456789abcdef", issuer: "shop-test", audience: "shop-api", ttlSeconds: 900 };
const now = () => Math.floor(Date.now() / 1000);
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** A token with exactly these claims, signed as given (defaults: a valid access token). */
function forge(claims: Record<string, unknown> = {}, sign: { secret?: string; algorithm?: jwt.Algorithm } = {}): string {
  const payload = { sub: "u-1", role: "user", typ: "access", iss: opts.issuer, aud: opts.audience, iat: now(), exp: now() + 60, ...claims };
  for (const key of Object.keys(payload)) if ((payload as Record<string, unknown>)[key] === undefined) delete (payload as Record<string, unknown>)[key];
  return jwt.sign(payload, sign.secret ?? opts.secret, { algorithm: sign.algorithm ?? "HS256" });
}

function reason(token: string, options: JwtOptions = opts): "expired" | "invalid" | "accepted" {
  try {
    verifyAccessToken(token, options);
    return "accepted";
  } catch (err) {
    expect(err).toBeInstanceOf(TokenError);
    return (err as TokenError).reason;
  }
}

test("HS256 is the only algorithm allowed", () => {
  expect(JWT_ALGORITHMS).toEqual(["HS256"]);
});

test("a signed token carries the registered claims and verifies to the access claims", () => {
  const { token, expiresIn } = signAccessToken({ sub: "u-1", role: "admin", sid: "s-1" }, opts);
  expect(expiresIn).toBe(900);
  const { header, payload } = jwt.decode(token, { complete: true }) as { header: { alg: string }; payload: Record<string, unknown> };
  expect(header.alg).toBe("HS256");
  expect(payload).toMatchObject({ sub: "u-1", role: "admin", sid: "s-1", typ: "access", iss: "shop-test", aud: "shop-api" });
  expect(payload.exp as number).toBe((payload.iat as number) + 900);
  expect(Math.abs((payload.iat as number) - now())).toBeLessThanOrEqual(2);
  expect(payload.jti).toMatch(/^[A-Za-z0-9_-]{22}$/);
  expect(verifyAccessToken(token, opts)).toEqual({ sub: "u-1", role: "admin", sid: "s-1", typ: "access" });
});

test("sid is optional; every token gets its own jti", () => {
  const a = signAccessToken({ sub: "u-2", role: "user" }, opts).token;
  const b = signAccessToken({ sub: "u-2", role: "user" }, opts).token;
  expect(verifyAccessToken(a, opts)).toEqual({ sub: "u-2", role: "user", typ: "access" });
  expect((jwt.decode(a) as { jti: string }).jti).not.toBe((jwt.decode(b) as { jti: string }).jti);
});

test("signing refuses a secret shorter than 32 bytes", () => {
  expect(() => signAccessToken({ sub: "u", role: "user" }, { ...opts, secret: "x".repeat(31) })).toThrow(/32 bytes/);
  expect(signAccessToken({ sub: "u", role: "user" }, { ...opts, secret: "é".repeat(16) }).token).toMatch(/^ey/); // 32 bytes
});

test("expiry: refused as expired past exp, with 5 seconds of clock tolerance", () => {
  expect(reason(forge({ exp: now() - 2 }))).toBe("accepted");
  expect(reason(forge({ exp: now() - 30 }))).toBe("expired");
});

const cases: ReadonlyArray<readonly [string, "accepted" | "invalid", () => string]> = [
  ["a forged token still valid by construction", "accepted", () => forge()],
  ["signed with another secret", "invalid", () => forge({}, { secret: "another secret that is long enough!!" })],
  ["signed with HS512 and the right secret", "invalid", () => forge({}, { algorithm: "HS512" })],
  ["alg none", "invalid", () => `${b64({ alg: "none", typ: "JWT" })}.${b64({ sub: "u-1", role: "superuser", typ: "access", iss: opts.issuer, aud: opts.audience, exp: now() + 60 })}.`],
  ["wrong issuer", "invalid", () => forge({ iss: "someone-else" })],
  ["wrong audience", "invalid", () => forge({ aud: "another-api" })],
  ["no exp", "invalid", () => forge({ exp: undefined })],
  ["typ refresh", "invalid", () => forge({ typ: "refresh" })],
  ["no typ", "invalid", () => forge({ typ: undefined })],
  ["no sub", "invalid", () => forge({ sub: undefined })],
  ["numeric sub", "invalid", () => forge({ sub: 42 })],
  ["no role", "invalid", () => forge({ role: undefined })],
  ["not a JWT", "invalid", () => "not.a.jwt"],
  ["empty", "invalid", () => ""],
];

test.each(cases)("%s → %s", (_what, expected, make) => {
  expect(reason(make())).toBe(expected);
});

test("a tampered payload (role raised to superuser) is refused", () => {
  const { token } = signAccessToken({ sub: "u-1", role: "user" }, opts);
  const [header, payload, signature] = token.split(".") as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
  const tampered = `${header}.${b64({ ...claims, role: "superuser" })}.${signature}`;
  expect(reason(token)).toBe("accepted");
  expect(reason(tampered)).toBe("invalid");
});

test("an RS256 token is refused (no algorithm confusion)", () => {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const token = jwt.sign({ sub: "u-1", role: "user", typ: "access" }, privateKey, {
    algorithm: "RS256",
    issuer: opts.issuer,
    audience: opts.audience,
    expiresIn: 60,
  });
  expect(reason(token)).toBe("invalid");
});

test("a token for one issuer or audience does not pass for another", () => {
  const { token } = signAccessToken({ sub: "u-1", role: "user" }, opts);
  expect(reason(token, { ...opts, issuer: "other" })).toBe("invalid");
  expect(reason(token, { ...opts, audience: "other" })).toBe("invalid");
  expect(reason(token, { ...opts, secret: opts.secret + "!" })).toBe("invalid");
});

test("TokenError is an Error with a reason and the library error as cause", () => {
  try {
    verifyAccessToken(forge({ exp: now() - 60 }), opts);
    throw new Error("not reached");
  } catch (err) {
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ name: "TokenError", reason: "expired", message: "The access token has expired." });
    expect((err as Error).cause).toBeInstanceOf(jwt.TokenExpiredError);
  }
});
