/**
 * The Redis cacher (CACHER=redis://...) with the embedded SQLite database: reads are
 * cached in Redis under the namespace's prefix, and a change through the service cleans them.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes, randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { describeWithServers } from "../support/servers.ts";
import { startTestNode, http, type TestNode } from "../support/node.ts";

const suite = await describeWithServers("redis");
const admin = { meta: { user: { id: randomUUID(), role: "admin" } } };

suite("Redis cacher", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shop-redis-"));
  const namespace = `redis-${randomBytes(4).toString("hex")}`;
  let node: TestNode;
  let redis: Redis;

  beforeAll(async () => {
    const { migrateUp } = await import("../../integrations/database/migrator.ts");
    const { loadConfig } = await import("../../lib/config.ts");
    await migrateUp(loadConfig({ SQLITE_PATH: path.join(dir, "shop.sqlite") }).database);
    node = await startTestNode({
      SQLITE_PATH: path.join(dir, "shop.sqlite"),
      CACHER: "redis://127.0.0.1:6379",
      NAMESPACE: namespace,
      SERVICES: "all",
    });
    redis = new Redis("redis://127.0.0.1:6379");
  });

  afterAll(async () => {
    const keys = await redis.keys(`${namespace}-cache*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await node?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("reads are cached in Redis and cleaned by a change", async () => {
    const p = await node.broker.call<any, any>("products.create", { sku: "R-1", name: "before", priceCents: 1, currency: "EUR" }, admin);
    expect((await http(`${node.api}/products/${p.id}`)).body.name).toBe("before");
    const keys = await redis.keys(`${namespace}-cache*products.get*`);
    expect(keys.length).toBeGreaterThan(0);

    const sequelize = (node.broker.getLocalService("products") as any).adapter.db;
    await sequelize.query(`UPDATE products SET name = 'sneaky' WHERE id = '${p.id}'`);
    expect((await http(`${node.api}/products/${p.id}`)).body.name).toBe("before");

    await node.broker.call("products.update", { id: p.id, name: "after" }, admin);
    expect(await redis.keys(`${namespace}-cache*products.get*`)).toEqual([]);
    expect((await http(`${node.api}/products/${p.id}`)).body.name).toBe("after");
  });

  test("search on SQLite is case-insensitive too", async () => {
    await node.broker.call("products.create", { sku: "R-2", name: "Green Teapot", priceCents: 1, currency: "EUR" }, admin);
    const res = await http(`${node.api}/products?search=TEAPOT`);
    expect(res.body.rows.map((r: any) => r.sku)).toEqual(["R-2"]);
  });
});
