/**
 * Abuse resistance with the production limits (RATE_LIMIT_FACTOR=1) on the embedded
 * SQLite database: per account and per address, a 429 with Retry-After, and the same
 * answer for unknown accounts as for wrong passwords.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { startTestNode, http, type TestNode } from "../support/node.ts";

const PASSWORD = "correct horse battery staple";
let node: TestNode;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shop-limits-"));

beforeAll(async () => {
  const { migrateUp } = await import("../../lib/migrator.ts");
  const { loadConfig } = await import("../../lib/config.ts");
  const env = { SQLITE_PATH: path.join(dir, "shop.sqlite") };
  await migrateUp(loadConfig(env).database);
  node = await startTestNode({ ...env, SERVICES: "all", RATE_LIMIT_FACTOR: "1", NAMESPACE: `limits-${randomUUID().slice(0, 8)}` });
});

afterAll(async () => {
  await node?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const login = (email: string, password: string) => http(`${node.api}/auth/login`, { method: "POST", json: { email, password } });

test("ten wrong passwords for one account, then 429 with Retry-After, even with the right one", async () => {
  const email = `victim-${randomUUID().slice(0, 6)}@example.com`;
  expect((await http(`${node.api}/auth/register`, { method: "POST", json: { email, password: PASSWORD, name: "V" } })).status).toBe(201);
  for (let i = 0; i < 10; i++) expect((await login(email, `wrong password ${i}`)).status).toBe(401);
  const blocked = await login(email, PASSWORD);
  expect(blocked.status).toBe(429);
  expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
  expect(blocked.body).toMatchObject({ code: 429, type: "TOO_MANY_REQUESTS" });
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
  const email = `basic-${randomUUID().slice(0, 6)}@example.com`;
  await http(`${node.api}/auth/register`, { method: "POST", json: { email, password: PASSWORD, name: "B" } });
  const basic = (pw: string) => ({ authorization: `Basic ${Buffer.from(`${email}:${pw}`).toString("base64")}` });
  for (let i = 0; i < 10; i++) expect((await http(`${node.api}/users/me`, { headers: basic(`nope ${i}`) })).status).toBe(401);
  expect((await http(`${node.api}/users/me`, { headers: basic(PASSWORD) })).status).toBe(429);
});
