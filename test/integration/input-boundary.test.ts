/**
 * Issue 12's input and contract findings, each as the exact request that found it, against a
 * real shop on PostgreSQL (every service in one node, the circuit breaker as configured):
 *
 *   1  NUL in login / search ×25 tripped the circuit breaker: now 422, and others are served
 *   5  a depth-10,000 array in a string field was a 500: now 400 on all five anonymous routes
 *   6  registration accepted `ceo@shop.example\u0000.attacker.test`: now 422, at the gateway
 *      and in the users service's own rule
 *   9  a release could push stock past 2^31-1
 *   11 a forged signed-URL key like ../../etc/passwd was a 500
 *   12 `__proto__` keys passed silently; customers saw staff ids and notes in statusHistory
 *   13 token-endpoint 400s without RFC 6749 `error`; wrong method → 404 instead of 405 + Allow;
 *      GET /api/files/{id} documented as octet-stream
 *
 * and the boundary's other rules: paths, queries, headers, multi-line fields.
 */
import { createHmac } from "node:crypto";
import { describeWithServers } from "../support/servers.ts";
import { startTestShop, type TestNode } from "../support/node.ts";
import { shopClient, PASSWORD } from "../support/shop-client.ts";
import { signToken } from "../../integrations/storage/index.ts";

const suite = await describeWithServers("postgres");

const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);
const MAX_INT = 2_147_483_647;
/** The 422 the boundary answers, with one of its problems. */
const refused = (problem: Record<string, unknown>) => ({
  status: 422,
  body: { name: "ValidationError", code: 422, type: "INPUT_REFUSED", data: expect.arrayContaining([expect.objectContaining(problem)]) },
});

suite("the input boundary (issue 12)", () => {
  let node: TestNode;
  const shop = shopClient(() => node);
  const { http, as } = shop;
  const raw = (path: string, body: string, type = "application/json", headers: Record<string, string> = {}) =>
    http(path, { method: "POST", headers: { "content-type": type, ...headers }, body });
  let admin: string;
  let adminId: string;
  const breakerEvents: string[] = [];

  beforeAll(async () => {
    // Rate limits high enough that the floods below meet the boundary, not the limiter.
    node = await startTestShop("input_boundary", { CACHER: "memory", RATE_LIMIT_FACTOR: "1000" });
    node.broker.createService({
      name: "breaker-watch",
      events: {
        "$circuit-breaker.opened"(ctx: { params: { action: string } }) {
          breakerEvents.push(ctx.params.action);
        },
      },
    });
    ({ id: adminId, token: admin } = await shop.superuser());
  });

  afterAll(async () => {
    await node?.stop();
  });

  describe("finding 1: control characters never reach a handler, and never trip the circuit breaker", () => {
    test("POST /api/auth/login with NUL ×40, GET /api/products?search=%00 ×40: 422 each; everyone else is served throughout", async () => {
      const { email } = await shop.shopper("bystander");
      const login = () => http("/auth/login", { method: "POST", json: { email: "x1@a.co\u0000", password: "x" } });
      const search = () => http("/products?search=%00");
      for (let round = 0; round < 40; round++) {
        const [a, b] = await Promise.all([login(), search()]);
        expect(a).toMatchObject(refused({ type: "controlCharacter", field: "email", in: "body", character: "U+0000" }));
        expect(b).toMatchObject(refused({ type: "controlCharacter", field: "search", in: "query", character: "U+0000" }));
        if (round % 10 === 9) {
          // A well-behaved caller in between: never a 404 or 503.
          expect((await http("/products")).status).toBe(200);
          expect((await http("/auth/login", { method: "POST", json: { email, password: PASSWORD } })).status).toBe(200);
        }
      }
      expect(breakerEvents).toEqual([]);
    });

    test("the issue's other bad requests ×25 (deep nesting, NUL e-mail, prototype keys): the routes keep answering normally", async () => {
      const deep = `{"email":${nested(10_000)},"password":"x"}`;
      for (let i = 0; i < 25; i++) {
        const answers = await Promise.all([
          raw("/auth/login", deep),
          raw("/auth/register", deep),
          http("/auth/register", {
            method: "POST",
            json: { email: `ceo${i}@shop.example\u0000.attacker.test`, password: PASSWORD, name: "CEO" },
          }),
          raw("/auth/register", `{"email":"p${i}@example.com","password":"${PASSWORD}","name":"P","__proto__":{"role":"admin"}}`),
          http(`/products/%00${i}`),
        ]);
        expect(answers.map((a) => a.status)).toEqual([400, 400, 422, 422, 422]);
      }
      const { email, token } = await shop.shopper("after-flood");
      expect((await http("/auth/login", { method: "POST", json: { email, password: PASSWORD } })).status).toBe(200);
      expect((await http("/users/me", { headers: as(token) })).status).toBe(200);
      expect((await http("/products?search=kettle")).status).toBe(200);
      expect(breakerEvents).toEqual([]);
    });
  });

  describe("finding 5: JSON nested 10,000 deep (a 20 KB body) is a 400, not a stack overflow", () => {
    test.each(["/auth/register", "/auth/login", "/auth/password/forgot", "/auth/refresh"])("POST /api%s", async (path) => {
      const body = `{"email":${nested(10_000)},"password":"x","name":"x","refreshToken":"x"}`;
      expect(body.length).toBeGreaterThan(20_000);
      expect(await raw(path, body)).toMatchObject({ status: 400, body: { code: 400, type: "NESTING_TOO_DEEP", data: { maxDepth: 32 } } });
    });

    test("POST /api/auth/token: 400 as RFC 6749 says, invalid_request", async () => {
      const res = await raw("/auth/token", `{"grant_type":${nested(10_000)}}`);
      expect(res).toMatchObject({
        status: 400,
        body: { error: "invalid_request", error_description: expect.stringContaining("32 levels") },
      });
      expect(res.headers.get("cache-control")).toBe("no-store");
    });

    test("32 levels are fine (the validator answers), 33 are not", async () => {
      const at = (depth: number) => raw("/auth/login", `{"email":"a@example.com","password":"x","x":${nested(depth - 1)}}`);
      expect(await at(32)).toMatchObject({ status: 422, body: { type: "VALIDATION_ERROR" } }); // x is not a field of login
      expect(await at(33)).toMatchObject({ status: 400, body: { type: "NESTING_TOO_DEEP" } });
    });
  });

  describe("finding 6: the e-mail address of a new account", () => {
    test("POST /api/auth/register {email: ceo@shop.example\\u0000.attacker.test}: 422, no account", async () => {
      const res = await http("/auth/register", {
        method: "POST",
        json: { email: "ceo@shop.example\u0000.attacker.test", password: PASSWORD, name: "CEO" },
      });
      expect(res).toMatchObject(refused({ field: "email", in: "body", character: "U+0000" }));
      const users = await node.broker.call<{ rows: { email: string }[] }, object>(
        "users.list",
        { search: "attacker" },
        { meta: { user: { id: adminId, role: "superuser" } } },
      );
      expect(users.rows).toEqual([]);
    });

    test("the users service's own rule refuses it too (the REPL and other services do not pass the gateway)", async () => {
      for (const email of [
        "ceo@shop.example\u0000.attacker.test",
        "ceo@shop.example.attacker\u0000",
        "ann@localhost",
        "ann@example",
        "a..b@example.com",
      ]) {
        const err = await node.broker
          .call("users.register", { email, password: PASSWORD, name: "X" }, { meta: { ip: "127.0.0.1" } })
          .catch((e: unknown) => e);
        expect(err).toMatchObject({ code: 422, data: [expect.objectContaining({ field: "email", type: "email" })] });
      }
      const err = await node.broker
        .call("users.createSuperuser", { email: "root@shop.example\u0000.attacker.test", password: PASSWORD })
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 422, data: [expect.objectContaining({ field: "email" })] });
      // Ordinary addresses still work, and sign-in still finds them.
      const ok = await http("/auth/register", {
        method: "POST",
        json: { email: "Ann+Shop@Mail.Example.co.uk", password: PASSWORD, name: "Ann" },
      });
      expect(ok).toMatchObject({ status: 201, body: { email: "ann+shop@mail.example.co.uk" } });
      expect(
        (await http("/auth/login", { method: "POST", json: { email: "ann+shop@mail.example.co.uk", password: PASSWORD } })).status,
      ).toBe(200);
    });
  });

  describe("finding 9: stock stays within 0..2^31-1 on every path", () => {
    test("a release on top of stock set to 2^31-1 stops there; the value can be sent back", async () => {
      const { token } = await shop.shopper("stock");
      const product = await shop.product(admin, { stock: 10 });
      const order = (await shop.order(token, product.id, 5)).body;
      expect(await http(`/products/${product.id}`, { method: "PATCH", headers: as(admin), json: { stock: MAX_INT } })).toMatchObject({
        status: 200,
        body: { stock: MAX_INT },
      });
      expect((await http(`/orders/${order.id}/cancel`, { method: "POST", headers: as(token), json: {} })).status).toBe(200);
      const after = (await http(`/products/${product.id}`)).body;
      expect(after.stock).toBe(MAX_INT);
      // The reservation was released (not left for reconciliation by a failed UPDATE).
      const products = node.broker.getLocalService("products") as unknown as {
        reservations: { findByPk(id: string): Promise<{ get(k: string): unknown } | null> };
      };
      expect((await products.reservations.findByPk(order.id))?.get("status")).toBe("released");
      // What a client read it can write back.
      expect((await http(`/products/${product.id}`, { method: "PATCH", headers: as(admin), json: { stock: after.stock } })).status).toBe(
        200,
      );
    });

    test("create, update and adjust refuse to go past it", async () => {
      const create = await http("/products", {
        method: "POST",
        headers: as(admin),
        json: { sku: "BIG-1", name: "Big", priceCents: 1, currency: "EUR", stock: MAX_INT + 1 },
      });
      expect(create).toMatchObject({ status: 422, body: { data: [expect.objectContaining({ field: "stock", type: "numberMax" })] } });
      const product = await shop.product(admin, { stock: MAX_INT });
      expect(await http(`/products/${product.id}`, { method: "PATCH", headers: as(admin), json: { stock: MAX_INT + 1 } })).toMatchObject({
        status: 422,
      });
      const sku = (await http(`/products/${product.id}`)).body.sku;
      await expect(node.broker.call("products.adjustStock", { sku, delta: 1 })).rejects.toMatchObject({ code: 409, type: "STOCK_LIMIT" });
    });
  });

  describe("finding 11: a forged signed-URL key", () => {
    test("GET and PUT /api/files/signed/<token for ../../etc/passwd> (signed with the node's key): 403, not 500", async () => {
      const secret = createHmac("sha256", node.config.auth.secretsKey).update("storage signed URLs v1").digest();
      const e = Math.floor(Date.now() / 1000) + 300;
      for (const k of ["../../etc/passwd", "files/../../../etc/passwd", "/etc/passwd", "files/./x", ""]) {
        const get = await http(`/files/signed/${signToken({ k, m: "GET", e, t: "text/plain" }, secret)}`);
        expect(`${k} ${get.status} ${get.body?.type}`).toBe(`${k} 403 SIGNATURE_MISMATCH`);
        const put = await http(`/files/signed/${signToken({ k, m: "PUT", e, t: "text/plain", n: 4 }, secret)}`, {
          method: "PUT",
          headers: { "content-type": "text/plain" },
          body: "root",
        });
        expect(`${k} ${put.status}`).toBe(`${k} 403`);
      }
    });
  });

  describe("finding 12: prototype keys, the duplicate message, what customers see of an order's history", () => {
    test("__proto__, constructor and prototype keys: 422 wherever they are (body, nested, query)", async () => {
      const { token } = await shop.shopper("proto");
      const register = await raw(
        "/auth/register",
        `{"email":"proto@example.com","password":"${PASSWORD}","name":"P","__proto__":{"role":"admin"}}`,
      );
      expect(register).toMatchObject(refused({ type: "prototypeKey", field: "__proto__", in: "body" }));
      const order = await raw(
        "/orders",
        '{"items":[{"productId":"x","quantity":1,"constructor":{"prototype":{}}}],' +
          '"shippingAddress":{"__proto__":{"admin":true},"name":"a","line1":"b","city":"c","postalCode":"d","country":"FR"}}',
        "application/json",
        as(token),
      );
      expect(order.status).toBe(422);
      expect(order.body.data.map((d: { field: string }) => d.field).sort()).toEqual(["items[0].constructor", "shippingAddress.__proto__"]);
      expect(await http("/products?__proto__[x]=1")).toMatchObject(refused({ type: "prototypeKey", field: "__proto__[x]", in: "query" }));
      expect(await http("/products?a[constructor][prototype]=1")).toMatchObject(refused({ type: "prototypeKey", in: "query" }));
      const form = await raw("/auth/token", "grant_type=client_credentials&__proto__=x", "application/x-www-form-urlencoded");
      expect(form).toMatchObject({
        status: 400,
        body: { error: "invalid_request", error_description: expect.stringContaining("__proto__") },
      });
    });

    test("a duplicate registration names the field: 409 'User with this email already exists.'", async () => {
      const json = { email: "twice@example.com", password: PASSWORD, name: "Twice" };
      expect((await http("/auth/register", { method: "POST", json })).status).toBe(201);
      expect(await http("/auth/register", { method: "POST", json })).toMatchObject({
        status: 409,
        body: { message: "User with this email already exists.", data: { fields: ["email"] } },
      });
    });

    test("customers see who acted as customer/shop/system and no staff notes; staff see the stored history", async () => {
      const { token } = await shop.shopper("history");
      const product = await shop.product(admin, { stock: 5 });
      const order = (await shop.order(token, product.id, 1)).body;
      expect(order.statusHistory).toEqual([{ from: null, to: "pending", at: expect.any(String), by: "customer" }]);
      await http(`/orders/${order.id}/status`, {
        method: "PATCH",
        headers: as(admin),
        json: { status: "paid", reason: "Matched by Bob; card flagged once" },
      });
      const cancelled = await http(`/orders/${order.id}/cancel`, {
        method: "POST",
        headers: as(admin),
        json: { reason: "Warehouse: lot 7 damaged" },
      });
      expect(cancelled.body.statusHistory.at(-1)).toMatchObject({ by: adminId, reason: "Warehouse: lot 7 damaged" });

      const mine = (await http(`/orders/${order.id}`, { headers: as(token) })).body;
      expect(mine.statusHistory).toEqual([
        { from: null, to: "pending", at: expect.any(String), by: "customer" },
        { from: "pending", to: "paid", at: expect.any(String), by: "shop" },
        { from: "paid", to: "cancelled", at: expect.any(String), by: "shop" },
      ]);
      const list = (await http("/orders", { headers: as(token) })).body.rows.find((o: { id: string }) => o.id === order.id);
      expect(list.statusHistory).toEqual(mine.statusHistory);
      expect(JSON.stringify([mine, list])).not.toMatch(new RegExp(`${adminId}|Bob|lot 7`));

      const staff = (await http(`/orders/${order.id}`, { headers: as(admin) })).body;
      expect(staff.statusHistory.map((c: { by: string }) => c.by)).toEqual([order.userId, adminId, adminId]);
      expect(staff.statusHistory[1].reason).toBe("Matched by Bob; card flagged once");
    });

    test("a customer's own note stays in their view, and may have several lines", async () => {
      const { token } = await shop.shopper("note");
      const product = await shop.product(admin, { stock: 5 });
      const order = (await shop.order(token, product.id, 1)).body;
      const res = await http(`/orders/${order.id}/cancel`, {
        method: "POST",
        headers: as(token),
        json: { reason: "Ordered twice.\nSorry!" },
      });
      expect(res).toMatchObject({
        status: 200,
        body: { statusHistory: [expect.anything(), { by: "customer", reason: "Ordered twice.\nSorry!" }] },
      });
    });
  });

  describe("finding 13: the HTTP contract", () => {
    test("every 400 of POST /api/auth/token carries RFC 6749 `error`", async () => {
      const cases = [
        raw("/auth/token", "{not json"),
        http("/auth/token", { method: "POST", json: { grant_type: 5 } }),
        http("/auth/token", { method: "POST", json: { grant_type: "client_credentials", client_id: "x".repeat(500) } }),
        raw("/auth/token", "grant_type=client_credentials%00", "application/x-www-form-urlencoded"),
        http("/auth/token", { method: "POST", json: {} }),
        http("/auth/token", { method: "POST", json: { grant_type: "password" } }),
        http("/auth/token", { method: "POST", json: { grant_type: "refresh_token", refresh_token: "not-a-valid-refresh-token" } }),
      ];
      for (const res of await Promise.all(cases)) {
        expect(res.status).toBe(400);
        expect(res.body).toEqual({
          error: expect.stringMatching(/^(invalid_request|invalid_grant|unsupported_grant_type)$/),
          error_description: expect.any(String),
        });
        expect(res.headers.get("cache-control")).toBe("no-store");
      }
      // Client authentication failures stay 401 invalid_client.
      expect(
        await http("/auth/token", { method: "POST", json: { grant_type: "client_credentials", client_id: "nobody", client_secret: "x" } }),
      ).toMatchObject({
        status: 401,
        body: { error: "invalid_client" },
      });
    });

    test("a wrong method on an existing path: 405 with Allow; an unknown path: 404", async () => {
      const product = await shop.product(admin, { stock: 1 });
      for (const [method, path, allow] of [
        ["DELETE", "/products", "GET, POST"],
        ["PUT", `/products/${product.id}`, "DELETE, GET, PATCH"],
        ["POST", "/health/live", "GET"],
        ["GET", "/auth/login", "POST"],
        ["PUT", "/files", "GET, POST"],
      ] as const) {
        const res = await http(path, { method });
        expect(`${method} ${path} ${res.status} ${res.headers.get("allow")}`).toBe(`${method} ${path} 405 ${allow}`);
        expect(res.body).toMatchObject({
          name: "MoleculerClientError",
          code: 405,
          type: "METHOD_NOT_ALLOWED",
          data: { allow: allow.split(", ") },
        });
      }
      expect(await http("/nothing-here", { method: "DELETE" })).toMatchObject({ status: 404, body: { type: "NOT_FOUND" } });
      expect((await http("/products/x/y")).status).toBe(404);
    });

    test("GET /api/files/{id} is documented as the file's own type, and answers it", async () => {
      const doc = (await http("/openapi.json")).body;
      expect(doc.paths["/api/files/{id}"].get.responses["200"].content).toEqual({
        "*/*": { schema: { type: "string", format: "binary" } },
      });
      const { token } = await shop.shopper("files");
      const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 1, 2, 3, 4]);
      const form = new FormData();
      form.append("file", new Blob([png], { type: "image/png" }), "dot.png");
      const uploaded = await http("/files", { method: "POST", headers: as(token), body: form });
      expect(uploaded.status).toBe(201);
      const res = await fetch(`${node.api}/files/${uploaded.body.id}`, { headers: as(token) });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("image/png");
    });
  });

  describe("the rest of the boundary", () => {
    test("path parameters, query values and the headers actions read", async () => {
      const { token } = await shop.shopper("headers");
      expect(await http("/orders/%07", { headers: as(token) })).toMatchObject(refused({ field: "id", in: "path", character: "U+0007" }));
      expect(await http("/products?search=a%0Ab")).toMatchObject(refused({ field: "search", in: "query", character: "U+000A" }));
      expect(await http("/products?search=%E2%80%AEevil")).toMatchObject(refused({ field: "search", character: "U+202E" }));
      expect(await http("/products", { headers: { "x-totp": "12\u00853456" } })).toMatchObject(
        refused({ field: "X-TOTP", in: "header", character: "U+0085" }),
      );
      expect(await http("/users/me", { headers: { authorization: `Bearer ${"a".repeat(9000)}` } })).toMatchObject(
        refused({ field: "Authorization", type: "stringTooLong" }),
      );
      // An ordinary request with the same headers passes.
      expect((await http("/users/me", { headers: { ...as(token), "x-request-id": "abc" } })).status).toBe(200);
    });

    test("multi-line fields take TAB, LF and CR; one-line fields do not; other controls nowhere", async () => {
      const base = { sku: "ML-1", priceCents: 100, currency: "EUR" };
      const ok = await http("/products", {
        method: "POST",
        headers: as(admin),
        json: { ...base, name: "Kettle", description: "Copper.\r\n\tHolds 1.7 l." },
      });
      expect(ok).toMatchObject({ status: 201, body: { description: "Copper.\r\n\tHolds 1.7 l." } });
      expect(
        await http("/products", { method: "POST", headers: as(admin), json: { ...base, sku: "ML-2", name: "Ket\ntle" } }),
      ).toMatchObject(refused({ field: "name", character: "U+000A" }));
      expect(
        await http("/products", {
          method: "POST",
          headers: as(admin),
          json: { ...base, sku: "ML-3", name: "Kettle", description: "bell\u0007" },
        }),
      ).toMatchObject(refused({ field: "description", character: "U+0007" }));
      expect(
        await http("/auth/register", { method: "POST", json: { email: "lone@example.com", password: `${PASSWORD}\ud800`, name: "Lone" } }),
      ).toMatchObject(refused({ field: "password", type: "malformedUnicode" }));
    });

    test("oversized values: 422 before the validator; every problem listed, no value echoed", async () => {
      const res = await http("/auth/login", {
        method: "POST",
        json: { email: "a\u0000@example.com", password: "p".repeat(20_000), extra: { __proto__: null, constructor: 1 } },
      });
      expect(res.status).toBe(422);
      expect(res.body.data.map((d: { type: string; field: string }) => `${d.type} ${d.field}`).sort()).toEqual([
        "controlCharacter email",
        "prototypeKey extra.constructor",
        "stringTooLong password",
      ]);
      expect(JSON.stringify(res.body)).not.toContain("ppppp");
    });
  });
});
