/**
 * The findings of issue 12 that showed on the embedded default (SQLite), reproduced there:
 *
 *   1  NUL in `POST /api/auth/login` and `GET /api/products?search=%00` ×25 were SQLite errors
 *      (500), which opened the circuit breaker: the route then answered 404 to everybody
 *   9  a release stored 2,147,484,647 (2^31-1 + 1000), which could not be sent back (422)
 *   12 a duplicate registration said "User with this 0 already exists."
 */
import os from "node:os";
import path from "node:path";
import { rm } from "node:fs/promises";
import { randomUUID } from "node:crypto";
import { startTestNode, type TestNode } from "../support/node.ts";
import { shopClient, PASSWORD } from "../support/shop-client.ts";

const MAX_INT = 2_147_483_647;

describe("the input boundary on the embedded default (SQLite)", () => {
  const file = path.join(os.tmpdir(), `shop-input-boundary-${randomUUID()}.sqlite`);
  let node: TestNode;
  const shop = shopClient(() => node);
  const { http, as } = shop;
  let admin: string;
  const breakerEvents: string[] = [];

  beforeAll(async () => {
    // As `npm start` does on the embedded default: migrate the file, then start every service.
    const { loadConfig } = await import("../../lib/config.ts");
    const { migrateUp } = await import("../../integrations/database/migrator.ts");
    await migrateUp(loadConfig({ SQLITE_PATH: file }).database);
    node = await startTestNode({ SERVICES: "all", SQLITE_PATH: file, CACHER: "memory", RATE_LIMIT_FACTOR: "1000" });
    expect(node.config.database.dialect).toBe("sqlite");
    node.broker.createService({
      name: "breaker-watch",
      events: {
        "$circuit-breaker.opened"(ctx: { params: { action: string } }) {
          breakerEvents.push(ctx.params.action);
        },
      },
    });
    admin = (await shop.superuser()).token;
  });

  afterAll(async () => {
    await node?.stop();
    await rm(file, { force: true });
  });

  test("finding 1: NUL ×25 in login and search is a 422 each; afterwards the routes answer everyone (no 404, no 503)", async () => {
    const { email } = await shop.shopper("owner");
    for (let i = 0; i < 30; i++) {
      const login = await http("/auth/login", { method: "POST", json: { email: "x1@a.co\u0000", password: "x" } });
      const search = await http("/products?search=%00");
      expect([login.status, login.body.type, search.status, search.body.type]).toEqual([422, "INPUT_REFUSED", 422, "INPUT_REFUSED"]);
    }
    for (let i = 0; i < 5; i++) {
      expect((await http("/auth/login", { method: "POST", json: { email, password: PASSWORD } })).status).toBe(200);
      expect((await http("/products?search=kettle")).status).toBe(200);
    }
    expect(breakerEvents).toEqual([]);
  });

  test("finding 9: a release on top of stock set to 2^31-1 stores 2^31-1, not 2,147,484,647, and the value can be sent back", async () => {
    const { token } = await shop.shopper("stock");
    const product = await shop.product(admin, { stock: 1000 });
    const order = await shop.order(token, product.id, 1000);
    expect(order.status).toBe(201);
    expect((await http(`/products/${product.id}`, { method: "PATCH", headers: as(admin), json: { stock: MAX_INT } })).status).toBe(200);
    expect((await http(`/orders/${order.body.id}/cancel`, { method: "POST", headers: as(token), json: {} })).status).toBe(200);
    const stock = (await http(`/products/${product.id}`)).body.stock;
    expect(stock).toBe(MAX_INT);
    expect((await http(`/products/${product.id}`, { method: "PATCH", headers: as(admin), json: { stock } })).status).toBe(200);
  });

  test("finding 12: a duplicate registration names the e-mail, not '0'", async () => {
    const json = { email: "twice@example.com", password: PASSWORD, name: "Twice" };
    expect((await http("/auth/register", { method: "POST", json })).status).toBe(201);
    expect(await http("/auth/register", { method: "POST", json })).toMatchObject({
      status: 409,
      body: { message: "User with this email already exists.", type: "CONFLICT", data: { fields: ["email"] } },
    });
  });
});
