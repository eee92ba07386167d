/**
 * The role × route matrix (issue 12, finding 2 and "Proof"): every operation the gateway routes,
 * as every kind of caller: anonymous, a user, an admin, a superuser, and API clients, including
 * clients whose creator was demoted, deactivated or deleted after the token was minted. The
 * operations and who may call them come from the running gateway itself (its aliases and each
 * action's `access`), so a new route is covered the day it is added.
 *
 * For every request: never a 5xx; a caller below the operation's role gets 401 (anonymous) or
 * 403, never a 2xx; a token that no longer stands for anyone gets 401 everywhere. Path ids are
 * random UUIDs, so callers who may are answered 4xx without touching shared data.
 */
import { randomUUID } from "node:crypto";
import { describeWithServers } from "../support/servers.ts";
import { startTestShop, type TestNode } from "../support/node.ts";
import { shopClient, type HttpInit } from "../support/shop-client.ts";
import { ROLES, roleRank, type Access, type Role } from "../../lib/access.ts";

const suite = await describeWithServers("postgres");

interface Caller {
  name: string;
  headers: Record<string, string>;
  /** The role the caller acts with now; null: anonymous; "dead": a token that stands for nobody any more. */
  role: Role | null | "dead";
}

interface Operation {
  method: string;
  path: string;
  action: string;
  access: Access | undefined;
  type?: string;
}

suite("role × route matrix, API clients included", () => {
  let node: TestNode;
  const shop = shopClient(() => node);
  const { http, as } = shop;
  let root: string;
  const callers: Caller[] = [];

  /** Registered, given `role` by the root superuser, signed in. */
  const person = (role: Role) => shop.account(role);
  async function clientToken(creatorToken: string, role: Role) {
    const c = await http("/clients", { method: "POST", headers: as(creatorToken), json: { name: `matrix ${role}`, role } });
    expect(c.status).toBe(201);
    const t = await http("/auth/token", {
      method: "POST",
      json: { grant_type: "client_credentials", client_id: c.body.clientId, client_secret: c.body.clientSecret },
    });
    expect(t.status).toBe(200);
    return t.body.access_token as string;
  }

  beforeAll(async () => {
    node = await startTestShop("access_matrix", { CACHER: "memory", RATE_LIMIT_FACTOR: "100" });
    root = (await shop.root()).token;
    const user = await person("user");
    const admin = await person("admin");
    const superuser = await person("superuser");
    callers.push(
      { name: "anonymous", headers: {}, role: null },
      { name: "user", headers: as(user.token), role: "user" },
      { name: "admin", headers: as(admin.token), role: "admin" },
      { name: "superuser", headers: as(superuser.token), role: "superuser" },
      { name: "user client of an admin", headers: as(await clientToken(admin.token, "user")), role: "user" },
      { name: "admin client of a superuser", headers: as(await clientToken(superuser.token, "admin")), role: "admin" },
      { name: "superuser client of a superuser", headers: as(await clientToken(superuser.token, "superuser")), role: "superuser" },
    );
    // Creators who lose their privilege after their client's token was minted.
    const demoted = await person("superuser");
    const demotedClient = await clientToken(demoted.token, "admin");
    const demotedToAdmin = await person("superuser");
    const demotedToAdminClient = await clientToken(demotedToAdmin.token, "superuser");
    const deactivated = await person("superuser");
    const deactivatedClient = await clientToken(deactivated.token, "admin");
    const deleted = await person("superuser");
    const deletedClient = await clientToken(deleted.token, "superuser");
    expect((await http(`/users/${demoted.id}`, { method: "PATCH", headers: as(root), json: { role: "user" } })).status).toBe(200);
    expect((await http(`/users/${demotedToAdmin.id}`, { method: "PATCH", headers: as(root), json: { role: "admin" } })).status).toBe(200);
    expect((await http(`/users/${deactivated.id}`, { method: "PATCH", headers: as(root), json: { active: false } })).status).toBe(200);
    expect((await http(`/users/${deleted.id}`, { method: "DELETE", headers: as(root) })).status).toBe(204);
    callers.push(
      { name: "admin client of a creator demoted to user", headers: as(demotedClient), role: "user" },
      { name: "superuser client of a creator demoted to admin", headers: as(demotedToAdminClient), role: "admin" },
      { name: "admin client of a deactivated creator", headers: as(deactivatedClient), role: "dead" },
      { name: "superuser client of a deleted creator", headers: as(deletedClient), role: "dead" },
    );
  }, 60_000);

  afterAll(async () => {
    await node?.stop();
  });

  /** Every routed operation with the access its action declares. */
  function operations(): Operation[] {
    const gateway = node.broker.getLocalService("api") as unknown as {
      aliases: { method: string; fullPath: string; action?: string; type?: string }[];
    };
    const actions = new Map(
      (node.broker.registry.getActionList({ skipInternal: true }) as unknown as { name: string; action?: { access?: Access } }[]).map(
        (a) => [a.name, a.action?.access],
      ),
    );
    return (
      gateway.aliases
        .filter((a) => a.action)
        .map((a) => ({
          method: a.method,
          path: a.fullPath,
          action: a.action!,
          access: actions.get(a.action!),
          ...(a.type ? { type: a.type } : {}),
        }))
        // Logging out ends the caller's session: last, so every other operation sees a live one.
        .sort((a, b) => Number(a.action === "users.logout") - Number(b.action === "users.logout"))
    );
  }

  /** A concrete request for `op`: ids are random, bodies empty but of the right media type. */
  function request(op: Operation, caller: Caller): HttpInit & { path: string } {
    const path = op.path
      .replace(/^\/api/, "")
      .replace(/:token\b/g, "not-a-signed-token")
      .replace(/:(\w+)/g, () => randomUUID());
    const init = { method: op.method, headers: { ...caller.headers } as Record<string, string> };
    if (op.type === "multipart") {
      const form = new FormData();
      form.append("file", new Blob(["matrix"], { type: "text/plain" }), "matrix.txt");
      return { path, ...init, body: form };
    }
    if (op.type === "stream") return { path, ...init, headers: { ...init.headers, "content-type": "text/plain" }, body: "matrix" };
    if (["POST", "PUT", "PATCH"].includes(op.method)) return { path, ...init, json: {} };
    return { path, ...init };
  }

  /** What `caller` may get from `op`: null when anything but a 5xx is fine, else the allowed statuses. */
  function expectedFor(op: Operation, caller: Caller): number[] | null {
    // The token endpoint authenticates clients by their secret and ignores a bearer token.
    if (caller.role === "dead") return op.action === "users.token" ? null : [401];
    if (op.access === undefined || op.access === "internal") return caller.role === null ? [401, 403] : [403];
    if (op.access === "public") return null;
    if (caller.role === null) return [401];
    if (op.access === "authenticated") return null;
    return roleRank(caller.role) >= roleRank(op.access) ? null : [403];
  }

  test("every operation × every caller: no 5xx, no 2xx for anyone below the operation's role, 401 for dead tokens", async () => {
    const ops = operations();
    expect(ops.length).toBeGreaterThan(40);
    // Every role the shop knows is exercised, by a person and by a client.
    for (const role of ROLES) expect(callers.filter((c) => c.role === role).length).toBeGreaterThanOrEqual(2);
    const problems: string[] = [];
    let requests = 0;
    for (const op of ops) {
      for (const caller of callers) {
        const { path, ...init } = request(op, caller);
        const res = await http(path, init);
        requests++;
        const allowed = expectedFor(op, caller);
        const line = `${op.method} ${op.path} (${op.action}, ${op.access}) as ${caller.name}: ${res.status}`;
        if (res.status >= 500) problems.push(`${line} (a 5xx)`);
        else if (allowed && !allowed.includes(res.status)) problems.push(`${line}, expected ${allowed.join(" or ")}`);
      }
    }
    expect(problems).toEqual([]);
    expect(requests).toBe(ops.length * callers.length);
  }, 120_000);

  test("the callers are who the matrix says: a sample of each one's answers", async () => {
    const statusOf = async (caller: string, path: string) =>
      (await http(path, { headers: callers.find((c) => c.name === caller)!.headers })).status;
    expect(await statusOf("admin client of a superuser", "/users")).toBe(200);
    expect(await statusOf("superuser client of a creator demoted to admin", "/users")).toBe(200);
    expect(await statusOf("admin client of a creator demoted to user", "/users")).toBe(403);
    expect(await statusOf("admin client of a creator demoted to user", "/products")).toBe(200);
    expect(await statusOf("admin client of a deactivated creator", "/products")).toBe(401);
    expect(await statusOf("superuser client of a deleted creator", "/products")).toBe(401);
    expect(await statusOf("user client of an admin", "/users")).toBe(403);
  });
});
