/**
 * TRUST_PROXY=1 (one proxy in front, as behind the Heroku router or an ALB) with the production
 * limits on the embedded SQLite database: the client's address comes from X-Forwarded-For, so
 * clients behind one proxy get buckets of their own, what a client writes into the header
 * itself is not believed, session records carry the client's address, and an owner signing in
 * from an address the account knows is not locked out by a stranger elsewhere (issue 12, finding 4).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { startTestNode, type TestNode } from "../support/node.ts";
import { shopClient, PASSWORD } from "../support/shop-client.ts";

let node: TestNode;
const shop = shopClient(() => node);
const { http } = shop;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shop-proxy-"));

beforeAll(async () => {
  const { migrateUp } = await import("../../integrations/database/migrator.ts");
  const { loadConfig } = await import("../../lib/config.ts");
  const env = { SQLITE_PATH: path.join(dir, "shop.sqlite") };
  await migrateUp(loadConfig(env).database);
  node = await startTestNode({
    ...env,
    SERVICES: "all",
    RATE_LIMIT_FACTOR: "1",
    TRUST_PROXY: "1",
    NAMESPACE: `proxy-${randomUUID().slice(0, 8)}`,
  });
});

afterAll(async () => {
  await node?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A request as the proxy forwards it: the client's own header (if any), then the address the proxy saw. */
const via = (client: string, spoofed?: string) => ({ "x-forwarded-for": spoofed ? `${spoofed}, ${client}` : client });
const forgot = (client: string, spoofed?: string) =>
  http(`/auth/password/forgot`, {
    method: "POST",
    headers: via(client, spoofed),
    json: { email: `x-${randomUUID().slice(0, 8)}@example.com` },
  });
const login = (email: string, password: string, client: string) =>
  http(`/auth/login`, { method: "POST", headers: via(client), json: { email, password } });

test("two clients behind one proxy get separate buckets; a client's own X-Forwarded-For entries are ignored", async () => {
  // forgot-password allows 20 requests an hour per address.
  const statuses: number[] = [];
  for (let i = 0; i < 21; i++) statuses.push((await forgot("203.0.113.10", `198.51.100.${i}`)).status);
  expect(statuses.slice(0, 20).every((s) => s === 202)).toBe(true);
  expect(statuses[20]).toBe(429);
  // Another client behind the same proxy still has its whole budget.
  expect((await forgot("203.0.113.11")).status).toBe(202);
  // IPv6: one /64 is one client; the next /64 is another.
  for (let i = 0; i < 20; i++) expect((await forgot(`2001:db8:1:2::${(i + 1).toString(16)}`)).status).toBe(202);
  expect((await forgot("2001:db8:1:2:ffff::1")).status).toBe(429);
  expect((await forgot("2001:db8:1:3::1")).status).toBe(202);
});

test("the session records the client's address, not the proxy's", async () => {
  const { email } = await shop.register("session");
  expect((await login(email, PASSWORD, "198.51.100.77")).status).toBe(200);
  const users = node.broker.getLocalService("users") as unknown as {
    models: { sessions: { findAll(o: object): Promise<{ get(k: string): unknown }[]> } };
    findByEmail(e: string): Promise<{ get(k: string): unknown }>;
  };
  const user = await users.findByEmail(email);
  const sessions = await users.models.sessions.findAll({ where: { userId: user.get("id") } });
  expect(sessions.map((s) => s.get("ip"))).toEqual(["198.51.100.77"]);
});

test("a stranger's ten wrong passwords from elsewhere do not stop the owner at an address the account knows", async () => {
  const { email } = await shop.register("owner");
  expect((await login(email, PASSWORD, "203.0.113.50")).status).toBe(200);
  for (let i = 0; i < 10; i++) expect((await login(email, `wrong password ${i}`, "203.0.113.66")).status).toBe(401);
  // The stranger is locked out of the account, also with the right password, and so is any new address...
  expect((await login(email, PASSWORD, "203.0.113.66")).status).toBe(429);
  expect((await login(email, PASSWORD, "203.0.113.67")).status).toBe(429);
  // ...but the owner, at the address the account signed in from (no cookie needed), is not.
  expect((await login(email, PASSWORD, "203.0.113.50")).status).toBe(200);
  expect((await login(email, PASSWORD, "203.0.113.50")).status).toBe(200);
});
