import { createHmac, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import jwt from "jsonwebtoken";
import {
  JWT_ALGORITHMS,
  asymmetricKeyProblem,
  jwtKeyId,
  TokenError,
  signAccessToken,
  verifyAccessToken,
  type JwtOptions,
} from "../../../../integrations/authentication/jwt.ts";

const opts: JwtOptions = { secret: "s".repeat(16) + "0123456789abcdef", issuer: "shop-test", audience: "shop-api", ttlSeconds: 900 };
const now = () => Math.floor(Date.now() / 1000);
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** A token with exactly these claims, signed as given (defaults: a valid access token). */
function forge(claims: Record<string, unknown> = {}, sign: { secret?: string; algorithm?: jwt.Algorithm } = {}): string {
  const payload = {
    sub: "u-1",
    role: "user",
    sid: "s-1",
    typ: "access",
    iss: opts.issuer,
    aud: opts.audience,
    iat: now(),
    exp: now() + 60,
    ...claims,
  };
  for (const key of Object.keys(payload))
    if ((payload as Record<string, unknown>)[key] === undefined) delete (payload as Record<string, unknown>)[key];
  return jwt.sign(payload, sign.secret ?? opts.secret!, { algorithm: sign.algorithm ?? "HS256" });
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

test("HS256 (the default), RS256 and ES256 are the algorithms a deployment can pick", () => {
  expect(JWT_ALGORITHMS).toEqual(["HS256", "RS256", "ES256"]);
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

test("sid is required: signing without one throws, a token without one is refused; every token gets its own jti", () => {
  expect(() => signAccessToken({ sub: "u-2", role: "user" } as never, opts)).toThrow(/sid/);
  expect(() => signAccessToken({ sub: "u-2", role: "user", sid: "" }, opts)).toThrow(/sid/);
  const a = signAccessToken({ sub: "u-2", role: "user", sid: "s-2" }, opts).token;
  const b = signAccessToken({ sub: "u-2", role: "user", sid: "s-2" }, opts).token;
  expect(verifyAccessToken(a, opts)).toEqual({ sub: "u-2", role: "user", sid: "s-2", typ: "access" });
  expect((jwt.decode(a) as { jti: string }).jti).not.toBe((jwt.decode(b) as { jti: string }).jti);
});

test("signing refuses a secret shorter than 32 bytes", () => {
  expect(() => signAccessToken({ sub: "u", role: "user", sid: "s-1" }, { ...opts, secret: "x".repeat(31) })).toThrow(/32 bytes/);
  expect(signAccessToken({ sub: "u", role: "user", sid: "s-1" }, { ...opts, secret: "é".repeat(16) }).token).toMatch(/^ey/); // 32 bytes
});

test("expiry: refused as expired past exp, with 5 seconds of clock tolerance", () => {
  expect(reason(forge({ exp: now() - 2 }))).toBe("accepted");
  expect(reason(forge({ exp: now() - 30 }))).toBe("expired");
});

const cases: ReadonlyArray<readonly [string, "accepted" | "invalid", () => string]> = [
  ["a forged token still valid by construction", "accepted", () => forge()],
  ["signed with another secret", "invalid", () => forge({}, { secret: "another secret that is long enough!!" })],
  ["signed with HS512 and the right secret", "invalid", () => forge({}, { algorithm: "HS512" })],
  [
    "alg none",
    "invalid",
    () =>
      `${b64({ alg: "none", typ: "JWT" })}.` +
      `${b64({ sub: "u-1", role: "superuser", typ: "access", iss: opts.issuer, aud: opts.audience, exp: now() + 60 })}.`,
  ],
  ["wrong issuer", "invalid", () => forge({ iss: "someone-else" })],
  ["wrong audience", "invalid", () => forge({ aud: "another-api" })],
  ["no exp", "invalid", () => forge({ exp: undefined })],
  ["typ refresh", "invalid", () => forge({ typ: "refresh" })],
  ["no typ", "invalid", () => forge({ typ: undefined })],
  ["no sub", "invalid", () => forge({ sub: undefined })],
  ["numeric sub", "invalid", () => forge({ sub: 42 })],
  ["no role", "invalid", () => forge({ role: undefined })],
  ["no sid (a session that cannot be checked)", "invalid", () => forge({ sid: undefined })],
  ["empty sid", "invalid", () => forge({ sid: "" })],
  ["numeric sid", "invalid", () => forge({ sid: 7 })],
  ["not a JWT", "invalid", () => "not.a.jwt"],
  ["empty", "invalid", () => ""],
];

test.each(cases)("%s → %s", (_what, expected, make) => {
  expect(reason(make())).toBe(expected);
});

test("a tampered payload (role raised to superuser) is refused", () => {
  const { token } = signAccessToken({ sub: "u-1", role: "user", sid: "s-1" }, opts);
  const [header, payload, signature] = token.split(".") as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
  const tampered = `${header}.${b64({ ...claims, role: "superuser" })}.${signature}`;
  expect(reason(token)).toBe("accepted");
  expect(reason(tampered)).toBe("invalid");
});

test("HS256 tokens carry no kid (unchanged)", () => {
  const { token } = signAccessToken({ sub: "u-1", role: "user", sid: "s-1" }, { ...opts, keyId: "ignored" });
  expect((jwt.decode(token, { complete: true }) as unknown as { header: Record<string, unknown> }).header).toEqual({
    alg: "HS256",
    typ: "JWT",
  });
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
  const { token } = signAccessToken({ sub: "u-1", role: "user", sid: "s-1" }, opts);
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

describe("RS256 and ES256", () => {
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const keys = { RS256: rsa, ES256: ec } as const;
  const base = { issuer: opts.issuer, audience: opts.audience, ttlSeconds: 900 };
  const signer = (alg: "RS256" | "ES256"): JwtOptions => ({
    ...base,
    algorithm: alg,
    privateKey: keys[alg].privateKey,
    keyId: jwtKeyId(keys[alg].publicKey),
  });
  const verifier = (alg: "RS256" | "ES256"): JwtOptions => ({ ...base, algorithm: alg, publicKey: keys[alg].publicKey });
  const pem = (key: KeyObject) => key.export({ type: "spki", format: "pem" }) as string;
  const claims = (extra: Record<string, unknown> = {}) => ({
    sub: "u-1",
    role: "superuser",
    sid: "s-1",
    typ: "access",
    iss: opts.issuer,
    aud: opts.audience,
    exp: now() + 60,
    ...extra,
  });

  describe.each(["RS256", "ES256"] as const)("%s", (alg) => {
    const other = alg === "RS256" ? "ES256" : "RS256";

    test("signs with the private key, verifies with the public key; the header names alg and kid", () => {
      const { token } = signAccessToken({ sub: "u-1", role: "admin", sid: "s-1" }, signer(alg));
      const { header } = jwt.decode(token, { complete: true }) as unknown as { header: Record<string, unknown> };
      expect(header).toEqual({ alg, typ: "JWT", kid: jwtKeyId(keys[alg].publicKey) });
      expect(verifyAccessToken(token, verifier(alg))).toEqual({ sub: "u-1", role: "admin", sid: "s-1", typ: "access" });
      // The signer verifies too (the users service does both): the public key is derived.
      expect(verifyAccessToken(token, signer(alg))).toEqual({ sub: "u-1", role: "admin", sid: "s-1", typ: "access" });
    });

    test("key confusion: HS256 with the public key (PEM or DER) as HMAC secret is refused", () => {
      const asPem = jwt.sign(claims(), pem(keys[alg].publicKey), { algorithm: "HS256" });
      expect(reason(asPem, verifier(alg))).toBe("invalid");
      const der = keys[alg].publicKey.export({ type: "spki", format: "der" });
      const asDer = `${b64({ alg: "HS256", typ: "JWT" })}.${b64(claims())}`;
      const forged = `${asDer}.${createHmac("sha256", der).update(asDer).digest("base64url")}`;
      expect(reason(forged, verifier(alg))).toBe("invalid");
    });

    test("alg none, the other asymmetric algorithm, another key pair, a tampered payload, expiry", () => {
      expect(reason(`${b64({ alg: "none", typ: "JWT" })}.${b64(claims())}.`, verifier(alg))).toBe("invalid");
      expect(reason(jwt.sign(claims(), keys[other].privateKey, { algorithm: other }), verifier(alg))).toBe("invalid");
      const stranger =
        alg === "RS256" ? generateKeyPairSync("rsa", { modulusLength: 2048 }) : generateKeyPairSync("ec", { namedCurve: "P-256" });
      expect(reason(jwt.sign(claims(), stranger.privateKey, { algorithm: alg }), verifier(alg))).toBe("invalid");
      expect(reason(jwt.sign(claims(), keys[alg].privateKey, { algorithm: alg }), verifier(alg))).toBe("accepted");

      const { token } = signAccessToken({ sub: "u-1", role: "user", sid: "s-1" }, signer(alg));
      const [header, payload, signature] = token.split(".") as [string, string, string];
      const tampered = `${header}.${b64({ ...JSON.parse(Buffer.from(payload, "base64url").toString()), role: "superuser" })}.${signature}`;
      expect(reason(tampered, verifier(alg))).toBe("invalid");
      expect(reason(jwt.sign(claims({ exp: now() - 30 }), keys[alg].privateKey, { algorithm: alg }), verifier(alg))).toBe("expired");
      expect(reason(jwt.sign(claims({ aud: "elsewhere" }), keys[alg].privateKey, { algorithm: alg }), verifier(alg))).toBe("invalid");
    });
  });

  test("an HS256 deployment refuses RS256/ES256 tokens, and an RS256 one refuses HS256 tokens signed with its secret", () => {
    expect(reason(jwt.sign(claims(), ec.privateKey, { algorithm: "ES256" }))).toBe("invalid");
    expect(reason(forge({ role: "superuser" }), { ...verifier("RS256"), secret: opts.secret })).toBe("invalid");
  });

  test("a missing or unfit key is a configuration error, not a bad token", () => {
    const ok = signAccessToken({ sub: "u", role: "user", sid: "s-1" }, signer("ES256")).token;
    expect(() => signAccessToken({ sub: "u", role: "user", sid: "s-1" }, { ...base, algorithm: "RS256" })).toThrow(
      /RS256 needs a private KeyObject/,
    );
    expect(() =>
      signAccessToken({ sub: "u", role: "user", sid: "s-1" }, { ...base, algorithm: "RS256", privateKey: rsa.publicKey }),
    ).toThrow(/private KeyObject/);
    expect(() =>
      signAccessToken({ sub: "u", role: "user", sid: "s-1" }, { ...base, algorithm: "RS256", privateKey: ec.privateKey }),
    ).toThrow(/must be an RSA key/);
    expect(() => verifyAccessToken(ok, { ...base, algorithm: "ES256" })).toThrow(/ES256 needs a public KeyObject/);
    expect(() => verifyAccessToken(ok, { ...base, algorithm: "ES256", publicKey: rsa.publicKey })).toThrow(/must be an EC P-256 key/);
  });

  test("asymmetricKeyProblem: RSA >= 2048 bits for RS256, EC P-256 for ES256", () => {
    const small = generateKeyPairSync("rsa", { modulusLength: 1024 });
    const p384 = generateKeyPairSync("ec", { namedCurve: "P-384" });
    const ed = generateKeyPairSync("ed25519");
    expect(asymmetricKeyProblem("RS256", rsa.privateKey)).toBeNull();
    expect(asymmetricKeyProblem("RS256", rsa.publicKey)).toBeNull();
    expect(asymmetricKeyProblem("RS256", small.publicKey)).toBe("must be an RSA key of at least 2048 bits (got 1024)");
    expect(asymmetricKeyProblem("RS256", ec.publicKey)).toBe("must be an RSA key for RS256 (got ec)");
    expect(asymmetricKeyProblem("ES256", ec.privateKey)).toBeNull();
    expect(asymmetricKeyProblem("ES256", p384.publicKey)).toBe("must be an EC key on P-256 (prime256v1) for ES256 (got secp384r1)");
    expect(asymmetricKeyProblem("ES256", ed.publicKey)).toBe("must be an EC P-256 key for ES256 (got ed25519)");
  });

  test("jwtKeyId is the RFC 7638 thumbprint, the same from the private or the public key", () => {
    // RFC 7638 §3.1 example key and its thumbprint.
    const n = [
      "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhM",
      "stn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5",
      "hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    ].join("");
    const rfcKey = createPublicKey({ key: { kty: "RSA", n, e: "AQAB" }, format: "jwk" });
    expect(jwtKeyId(rfcKey)).toBe("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    expect(jwtKeyId(ec.privateKey)).toBe(jwtKeyId(ec.publicKey));
    expect(jwtKeyId(ec.publicKey)).not.toBe(jwtKeyId(rsa.publicKey));
  });
});

test("secrets become KeyObjects once each: a token verifies only under its own secret, also past the cache's bound", () => {
  const secrets = Array.from({ length: 20 }, (_, i) => `secret-${String(i).padStart(2, "0")}-`.padEnd(32, "x"));
  const tokens = secrets.map((secret) => signAccessToken({ sub: "u-1", role: "user", sid: "s-1" }, { ...opts, secret }).token);
  for (const [i, token] of tokens.entries()) {
    expect(reason(token, { ...opts, secret: secrets[i] })).toBe("accepted");
    expect(reason(token, { ...opts, secret: secrets[(i + 1) % secrets.length] })).toBe("invalid");
  }
  // Interoperable with a plain string secret on either side: the KeyObject holds the secret's UTF-8 bytes.
  const utf8 = "é".repeat(16);
  expect(reason(forge({}, { secret: utf8 }), { ...opts, secret: utf8 })).toBe("accepted");
  const signed = signAccessToken({ sub: "u-1", role: "user", sid: "s-1" }, { ...opts, secret: utf8 }).token;
  expect(() => jwt.verify(signed, utf8, { algorithms: ["HS256"] })).not.toThrow();
});

test("no secret configured: a token is refused as invalid, not accepted", () => {
  expect(reason(forge(), { ...opts, secret: undefined })).toBe("invalid");
  expect(reason(forge(), { ...opts, secret: "" })).toBe("invalid");
});
