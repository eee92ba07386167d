/**
 * Abuse resistance with the production limits (RATE_LIMIT_FACTOR=1) on the embedded
 * SQLite database: per account and per address, a 429 with Retry-After, and the same
 * answer for unknown accounts as for wrong passwords; strangers cannot lock an owner out of a
 * known device (issue 12, finding 4); without TRUST_PROXY, X-Forwarded-For changes nothing.
 * The tests share the one address 127.0.0.1, so their order matters (noted where it does).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { startTestNode, type TestNode } from "../support/node.ts";
import { shopClient, as, PASSWORD } from "../support/shop-client.ts";

let node: TestNode;
const shop = shopClient(() => node);
const { http } = shop;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shop-limits-"));

beforeAll(async () => {
  const { migrateUp } = await import("../../integrations/database/migrator.ts");
  const { loadConfig } = await import("../../lib/config.ts");
  const env = { SQLITE_PATH: path.join(dir, "shop.sqlite") };
  await migrateUp(loadConfig(env).database);
  node = await startTestNode({
    ...env,
    SERVICES: "all",
    RATE_LIMIT_FACTOR: "1",
    TRUST_PROXY: "",
    NAMESPACE: `limits-${randomUUID().slice(0, 8)}`,
  });
});

afterAll(async () => {
  await node?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const login = (email: string, password: string, headers: Record<string, string> = {}) =>
  http(`/auth/login`, { method: "POST", headers, json: { email, password } });
/** The device cookie a successful sign-in sets, as a Cookie header. */
const deviceCookie = (res: { headers: Headers }) => {
  const cookie = res.headers.get("set-cookie") ?? "";
  expect(cookie).toMatch(/^shop_device=[^;]+; Path=\/api; Max-Age=\d+; HttpOnly; SameSite=Strict/);
  return { cookie: cookie.split(";")[0]! };
};
/** POST /auth/register (201): one request of this address's registration budget. */
const register = async (label: string) => (await shop.register(label)).email;

test("ten wrong passwords for one account, then 429 with Retry-After, even with the right one", async () => {
  const email = await register("victim");
  for (let i = 0; i < 10; i++) expect((await login(email, `wrong password ${i}`)).status).toBe(401);
  const blocked = await login(email, PASSWORD);
  expect(blocked.status).toBe(429);
  expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
  expect(blocked.body).toMatchObject({ code: 429, type: "TOO_MANY_REQUESTS" });
});

// Before the test below spends this address's login budget: the owner's first sign-in is a stranger's.
test("10 wrong passwords from a stranger do not stop the owner on a known device", async () => {
  const email = await register("owner");
  const first = await login(email, PASSWORD);
  expect(first.status).toBe(200);
  const device = deviceCookie(first);
  // A stranger (no device token) guesses; so does someone holding a forged one.
  for (let i = 0; i < 10; i++) {
    const res = await login(email, `wrong password ${i}`);
    expect(`${i}: ${res.status} ${JSON.stringify(res.body)}`).toBe(`${i}: 401 ${JSON.stringify(res.body)}`);
  }
  const forged = { cookie: `shop_device=${device.cookie.split("=")[1]!.replace(/.$/, (c) => (c === "A" ? "B" : "A"))}` };
  expect((await login(email, PASSWORD, forged)).status).toBe(429);
  expect((await login(email, PASSWORD)).status).toBe(429);
  // The owner's device signs in with the right password, and again; Basic with the cookie too.
  const owner = await login(email, PASSWORD, device);
  expect(owner.status).toBe(200);
  expect((await login(email, PASSWORD, deviceCookie(owner))).status).toBe(200);
  const basic = { authorization: `Basic ${Buffer.from(`${email}:${PASSWORD}`).toString("base64")}` };
  expect((await http(`/users/me`, { headers: { ...basic, ...device } })).status).toBe(200);
  expect((await http(`/users/me`, { headers: basic })).status).toBe(429);
  // A device token works for its own account only.
  const other = await register("other");
  for (let i = 0; i < 10; i++) expect((await login(other, `wrong password ${i}`, device)).status).toBe(401);
  expect((await login(other, PASSWORD, device)).status).toBe(429);
});

test("a known device has a budget of its own: ten failures lock that device, not the others", async () => {
  const email = await register("device");
  const a = deviceCookie(await login(email, PASSWORD));
  const b = deviceCookie(await login(email, PASSWORD));
  for (let i = 0; i < 10; i++) expect((await login(email, `wrong password ${i}`, a)).status).toBe(401);
  expect((await login(email, PASSWORD, a)).status).toBe(429);
  expect((await login(email, PASSWORD, b)).status).toBe(200);
});

test("a good Basic + X-TOTP request gives the second-factor budget back: the 6th is not 429", async () => {
  const email = await register("totp");
  const signIn = await login(email, PASSWORD);
  const auth = as(signIn.body.accessToken);
  const { secret } = (await http(`/auth/2fa/setup`, { method: "POST", headers: auth })).body;
  const { totpCode } = await import("../../integrations/authentication/index.ts");
  const enabled = await http(`/auth/2fa/enable`, { method: "POST", headers: auth, json: { code: totpCode(secret) } });
  expect(enabled.status).toBe(200);
  const recovery: string[] = enabled.body.recoveryCodes;
  const basic = { authorization: `Basic ${Buffer.from(`${email}:${PASSWORD}`).toString("base64")}`, ...deviceCookie(signIn) };
  // Codes for the next time steps (each step works once), then recovery codes: eight good requests.
  const now = Date.now();
  const codes = [totpCode(secret, now + 30_000), ...recovery.slice(0, 7)];
  for (const [i, code] of codes.entries()) {
    expect(`request ${i + 1}: ${(await http(`/users/me`, { headers: { ...basic, "x-totp": code } })).status}`).toBe(
      `request ${i + 1}: 200`,
    );
  }
  // Failures still count: five wrong codes, then 429 (also for the sign-in step).
  for (let i = 0; i < 5; i++) expect((await http(`/users/me`, { headers: { ...basic, "x-totp": "000000" } })).status).toBe(401);
  expect((await http(`/users/me`, { headers: { ...basic, "x-totp": recovery[8]! } })).status).toBe(429);
});

test("one address trying many accounts is stopped too; unknown accounts answer like wrong passwords", async () => {
  const statuses: number[] = [];
  let first401: unknown;
  for (let i = 0; i < 40; i++) {
    const res = await login(`nobody-${i}-${randomUUID().slice(0, 4)}@example.com`, "wrong password here");
    statuses.push(res.status);
    if (res.status === 401) first401 ??= res.body;
  }
  expect(first401).toMatchObject({ code: 401, type: "INVALID_CREDENTIALS", message: "The e-mail or password is not correct." });
  expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
  expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([]);
});

test("Basic Auth is limited per account", async () => {
  const email = await register("basic");
  const basic = (pw: string) => ({ authorization: `Basic ${Buffer.from(`${email}:${pw}`).toString("base64")}` });
  for (let i = 0; i < 10; i++) expect((await http(`/users/me`, { headers: basic(`nope ${i}`) })).status).toBe(401);
  expect((await http(`/users/me`, { headers: basic(PASSWORD) })).status).toBe(429);
});

// After the test above has spent this address's login budget.
test("without TRUST_PROXY, X-Forwarded-For and Forwarded change nothing: the spent address stays spent", async () => {
  for (let i = 0; i < 5; i++) {
    const spoofed = { "x-forwarded-for": `198.51.100.${i + 1}`, forwarded: `for=198.51.100.${i + 1}` };
    expect((await login(`nobody-${randomUUID().slice(0, 6)}@example.com`, "wrong password here", spoofed)).status).toBe(429);
  }
});
