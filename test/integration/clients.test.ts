/**
 * API clients act with at most their creator's current role (issue 12, finding 2), on real
 * PostgreSQL with the principal cache on: the exact sequence (an admin client, its
 * creator demoted, deactivated or deleted, then client_credentials, GET /api/users,
 * POST /api/products, PATCH /api/users/{id}), who may grant admin to a client, and who
 * manages (lists, deletes) which clients.
 */
import { randomUUID } from "node:crypto";
import jwt from "jsonwebtoken";
import { describeWithServers } from "../support/servers.ts";
import { startTestShop, type TestNode } from "../support/node.ts";
import { shopClient, type Account } from "../support/shop-client.ts";

const suite = await describeWithServers("postgres");

suite("API clients are bounded by their creator", () => {
  let node: TestNode;
  const shop = shopClient(() => node);
  const { http, as, account } = shop;
  let root: Account;

  async function client(creatorToken: string, role: "user" | "admin" | "superuser" = "admin") {
    const res = await http("/clients", { method: "POST", headers: as(creatorToken), json: { name: "ci bot", role } });
    expect(res).toMatchObject({ status: 201, body: { role } });
    return res.body as { id: string; clientId: string; clientSecret: string };
  }
  const token = (c: { clientId: string; clientSecret: string }) =>
    http("/auth/token", {
      method: "POST",
      json: { grant_type: "client_credentials", client_id: c.clientId, client_secret: c.clientSecret },
    });
  async function mint(c: { clientId: string; clientSecret: string }) {
    const res = await token(c);
    expect(res.status).toBe(200);
    return res.body.access_token as string;
  }
  /** The three admin requests of the issue, as `token`: their statuses. */
  async function adminRequests(accessToken: string, victimId: string) {
    const list = await http("/users", { headers: as(accessToken) });
    const product = await http("/products", {
      method: "POST",
      headers: as(accessToken),
      json: { sku: `CI-${randomUUID().slice(0, 8)}`, name: "Bot", priceCents: 100, currency: "EUR", stock: 1 },
    });
    const patch = await http(`/users/${victimId}`, { method: "PATCH", headers: as(accessToken), json: { active: false } });
    return [list.status, product.status, patch.status];
  }

  beforeAll(async () => {
    node = await startTestShop("clients", { CACHER: "memory", RATE_LIMIT_FACTOR: "100" });
    // The superuser that grants the roles of `account`.
    root = await shop.root();
  });

  afterAll(async () => {
    await node?.stop();
  });

  test("only a superuser grants admin to a client: the issue's admin gets 403 for an admin client", async () => {
    const admin = await account("admin");
    const res = await http("/clients", { method: "POST", headers: as(admin.token), json: { name: "ci bot", role: "admin" } });
    expect(res).toMatchObject({ status: 403, body: { type: "FORBIDDEN" } });
    expect((await http("/clients", { method: "POST", headers: as(admin.token), json: { name: "ci bot", role: "superuser" } })).status).toBe(
      403,
    );
    await client(admin.token, "user");
  });

  test("creator demoted to user: tokens minted before and after act as a user at once", async () => {
    const creator = await account("superuser", "creator");
    const victim = await account("user", "victim");
    const bot = await client(creator.token, "admin");
    const before = await mint(bot);
    expect(await adminRequests(before, victim.id)).toEqual([200, 201, 200]);
    expect((await http(`/users/${victim.id}`, { method: "PATCH", headers: as(root.token), json: { active: true } })).status).toBe(200);

    expect((await http(`/users/${creator.id}`, { method: "PATCH", headers: as(root.token), json: { role: "user" } })).status).toBe(200);
    // The token already issued is bounded on its next request...
    expect(await adminRequests(before, victim.id)).toEqual([403, 403, 403]);
    // ...and a new one is issued with the creator's role, not the client's.
    const after = await token(bot);
    expect(after).toMatchObject({ status: 200, body: { expires_in: 300 } });
    expect(jwt.decode(after.body.access_token)).toMatchObject({ role: "user", sid: bot.id, sub: `client:${bot.id}` });
    expect(await adminRequests(after.body.access_token, victim.id)).toEqual([403, 403, 403]);
    expect((await http(`/users/${victim.id}`, { headers: as(root.token) })).body.active).toBe(true);
    // Listed with the role it acts with now.
    const listed = (await http("/clients?pageSize=100", { headers: as(root.token) })).body.rows.find(
      (c: { id: string }) => c.id === bot.id,
    );
    expect(listed).toMatchObject({ role: "admin", effectiveRole: "user", createdBy: creator.id });

    // Promoted back to admin: the client is an admin again (never above its own role).
    expect((await http(`/users/${creator.id}`, { method: "PATCH", headers: as(root.token), json: { role: "admin" } })).status).toBe(200);
    expect((await adminRequests(await mint(bot), victim.id))[0]).toBe(200);
  });

  test("creator deactivated: the client is refused altogether until the account is active again", async () => {
    const creator = await account("superuser", "leaver");
    const victim = await account("user", "victim");
    const bot = await client(creator.token, "admin");
    const before = await mint(bot);
    expect((await http(`/users/${creator.id}`, { method: "PATCH", headers: as(root.token), json: { active: false } })).status).toBe(200);
    expect(await token(bot)).toMatchObject({ status: 401, body: { error: "invalid_client" } });
    expect(await adminRequests(before, victim.id)).toEqual([401, 401, 401]);
    expect((await http(`/users/${creator.id}`, { method: "PATCH", headers: as(root.token), json: { active: true } })).status).toBe(200);
    expect((await http("/users", { headers: as(before) })).status).toBe(200);
  });

  test("creator deleted: its clients go with it; client_credentials and live tokens are refused", async () => {
    const creator = await account("superuser", "deleted");
    const victim = await account("user", "victim");
    const bot = await client(creator.token, "admin");
    const before = await mint(bot);
    expect((await http("/users", { headers: as(before) })).status).toBe(200);
    expect((await http(`/users/${creator.id}`, { method: "DELETE", headers: as(root.token) })).status).toBe(204);
    expect(await token(bot)).toMatchObject({ status: 401, body: { error: "invalid_client" } });
    expect(await adminRequests(before, victim.id)).toEqual([401, 401, 401]);
    const all = (await http("/clients?pageSize=100", { headers: as(root.token) })).body.rows;
    expect(all.map((c: { id: string }) => c.id)).not.toContain(bot.id);
    expect((await http(`/users/${victim.id}`, { headers: as(root.token) })).body.active).toBe(true);
  });

  test("a client creates no clients; an admin client cannot manage users above its role either", async () => {
    const bot = await client(root.token, "admin");
    const access = await mint(bot);
    expect((await http("/clients", { method: "POST", headers: as(access), json: { name: "spawn", role: "admin" } })).status).toBe(403);
    expect((await http("/clients", { method: "POST", headers: as(access), json: { name: "spawn", role: "user" } })).status).toBe(403);
    expect((await http("/clients", { headers: as(access) })).status).toBe(403);
    expect((await http(`/clients/${bot.id}`, { method: "DELETE", headers: as(access) })).status).toBe(403);
    // An admin client manages plain users only, like an admin.
    const other = await account("admin", "other-admin");
    expect((await http(`/users/${other.id}`, { method: "PATCH", headers: as(access), json: { active: false } })).status).toBe(403);
    expect((await http(`/users/${root.id}`, { method: "PATCH", headers: as(access), json: { role: "user" } })).status).toBe(403);
  });

  test("clients are managed by their creator or a superuser: an admin cannot see or delete a superuser's client", async () => {
    const admin = await account("admin", "manager");
    const rootBot = await client(root.token, "admin");
    const own = await client(admin.token, "user");
    const listed = (await http("/clients?pageSize=100", { headers: as(admin.token) })).body;
    expect(listed.rows.map((c: { id: string }) => c.id)).toEqual([own.id]);
    expect((await http(`/clients/${rootBot.id}`, { method: "DELETE", headers: as(admin.token) })).status).toBe(404);
    expect((await token(rootBot)).status).toBe(200);
    // Another admin cannot delete this admin's client either; the superuser can.
    const stranger = await account("admin", "stranger");
    expect((await http(`/clients/${own.id}`, { method: "DELETE", headers: as(stranger.token) })).status).toBe(404);
    expect((await http(`/clients/${own.id}`, { method: "DELETE", headers: as(admin.token) })).status).toBe(204);
    const access = await mint(rootBot);
    expect((await http(`/clients/${rootBot.id}`, { method: "DELETE", headers: as(root.token) })).status).toBe(204);
    // Deleting a client ends its tokens at once.
    expect((await http("/users", { headers: as(access) })).status).toBe(401);
    expect(await token(rootBot)).toMatchObject({ status: 401, body: { error: "invalid_client" } });
  });

  test("a client token is bound to its client: another sid, no sid or a user's sid is refused", async () => {
    const bot = await client(root.token, "admin");
    const claims = jwt.decode(await mint(bot)) as Record<string, unknown>;
    const secret = node.config.jwt.secret!;
    const sign = (extra: Record<string, unknown>) => {
      const payload: Record<string, unknown> = { ...claims, ...extra };
      for (const key of Object.keys(payload)) if (payload[key] === undefined) delete payload[key];
      return jwt.sign(payload, secret, { algorithm: "HS256" });
    };
    expect((await http("/users", { headers: as(sign({})) })).status).toBe(200);
    expect((await http("/users", { headers: as(sign({ sid: randomUUID() })) })).status).toBe(401);
    expect((await http("/users", { headers: as(sign({ sid: undefined })) })).status).toBe(401);
    const other = await client(root.token, "user");
    expect((await http("/users", { headers: as(sign({ sid: other.id })) })).status).toBe(401);
  });
});
