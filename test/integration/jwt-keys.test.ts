/**
 * Asymmetric access tokens over HTTP: a node configured with JWT_ALGORITHM=ES256 and only a
 * private key (given the way environment variables often carry a PEM: one line with `\n`
 * escapes), on the embedded SQLite database. Register, log in, use and refresh tokens; an
 * HS256 token "signed" with the public key as HMAC secret (key confusion) and other forgeries
 * are 401.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createHmac, generateKeyPairSync, randomUUID } from "node:crypto";
import jwt from "jsonwebtoken";
import { startTestNode, type TestNode } from "../support/node.ts";
import { shopClient, type Account } from "../support/shop-client.ts";

const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
const PRIVATE_PEM = keys.privateKey.export({ type: "pkcs8", format: "pem" }) as string;
const PUBLIC_PEM = keys.publicKey.export({ type: "spki", format: "pem" }) as string;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shop-jwt-keys-"));
let node: TestNode;

beforeAll(async () => {
  const { migrateUp } = await import("../../integrations/database/migrator.ts");
  const { loadConfig } = await import("../../lib/config.ts");
  const env = { SQLITE_PATH: path.join(dir, "shop.sqlite") };
  await migrateUp(loadConfig(env).database);
  node = await startTestNode({
    ...env,
    SERVICES: "all",
    NAMESPACE: `jwt-keys-${randomUUID().slice(0, 8)}`,
    RATE_LIMIT_FACTOR: "100",
    JWT_ALGORITHM: "ES256",
    JWT_PRIVATE_KEY: PRIVATE_PEM.trim().replace(/\n/g, "\\n"),
  });
});

afterAll(async () => {
  await node?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const shop = shopClient(() => node);
const { http, as } = shop;
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");

let user: Account;

test("the node runs ES256 with the public key derived from the private one", () => {
  expect(node.config.jwt.algorithm).toBe("ES256");
  expect(node.config.jwt.secret).toBeNull();
  expect(node.config.jwt.publicKey?.export({ type: "spki", format: "pem" })).toBe(PUBLIC_PEM);
});

test("register, log in: the access token is ES256 with a kid, and it works on GET /api/users/me", async () => {
  user = await shop.shopper("es", { name: "Ecdsa" }); // register 201, log in 200

  const { header } = jwt.decode(user.token, { complete: true }) as unknown as { header: Record<string, unknown> };
  expect(header).toEqual({ alg: "ES256", typ: "JWT", kid: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
  // Anyone holding the public key can check the token (what a future verifier would do).
  expect(jwt.verify(user.token, PUBLIC_PEM, { algorithms: ["ES256"] })).toMatchObject({ sub: user.id, typ: "access" });

  const me = await http("/users/me", { headers: as(user.token) });
  expect(me.status).toBe(200);
  expect(me.body).toMatchObject({ id: user.id, email: user.email });
});

test("refresh issues a new ES256 pair that works", async () => {
  const res = await http("/auth/refresh", { method: "POST", json: { refreshToken: user.refreshToken } });
  expect(res.status).toBe(200);
  expect((jwt.decode(res.body.accessToken, { complete: true }) as unknown as { header: { alg: string } }).header.alg).toBe("ES256");
  expect((await http("/users/me", { headers: as(res.body.accessToken) })).status).toBe(200);
});

describe("forged tokens are 401", () => {
  const claims = () => ({
    sub: user.id,
    role: "superuser",
    typ: "access",
    iss: node.config.auth.issuer,
    aud: node.config.auth.audience,
    exp: Math.floor(Date.now() / 1000) + 600,
  });
  test.each([
    ["HS256 with the public key PEM as HMAC secret (key confusion)", () => jwt.sign(claims(), PUBLIC_PEM, { algorithm: "HS256" })],
    [
      "HS256 with the public key DER as HMAC secret",
      () => {
        const unsigned = `${b64({ alg: "HS256", typ: "JWT" })}.${b64(claims())}`;
        return `${unsigned}.${createHmac("sha256", keys.publicKey.export({ type: "spki", format: "der" }))
          .update(unsigned)
          .digest("base64url")}`;
      },
    ],
    [
      "HS256 with the development JWT secret",
      () => jwt.sign(claims(), "insecure-development-secret-change-me-0123456789", { algorithm: "HS256" }),
    ],
    ["alg none", () => `${b64({ alg: "none", typ: "JWT" })}.${b64(claims())}.`],
    [
      "ES256 with another key pair",
      () => jwt.sign(claims(), generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey, { algorithm: "ES256" }),
    ],
    ["RS256", () => jwt.sign(claims(), generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey, { algorithm: "RS256" })],
    [
      "a tampered payload",
      () => {
        const [h, p, s] = user.token.split(".") as [string, string, string];
        return `${h}.${b64({ ...JSON.parse(Buffer.from(p, "base64url").toString()), role: "superuser" })}.${s}`;
      },
    ],
  ])("%s", async (_what, forge) => {
    const res = await http("/users/me", { headers: as(forge()) });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/Bearer/);
    expect(res.body).toMatchObject({ code: 401, type: "INVALID_TOKEN" });
  });
});
