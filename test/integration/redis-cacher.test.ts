/**
 * The Redis cacher (CACHER=redis://...) with the embedded SQLite database: reads are
 * cached in Redis under the namespace's prefix, and a change through the service cleans them.
 * The node reaches Redis through a TCP proxy, so that Redis can stop answering.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes, randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { describeWithServers } from "../support/servers.ts";
import { startTestNode, http, type TestNode } from "../support/node.ts";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.ts";
import { until } from "../../scripts/support/until.ts";

const suite = await describeWithServers("redis");
const admin = { meta: { user: { id: randomUUID(), role: "admin" } } };

suite("Redis cacher", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shop-redis-"));
  const namespace = `redis-${randomBytes(4).toString("hex")}`;
  let node: TestNode;
  let redis: Redis;
  let proxy: TcpProxy;

  beforeAll(async () => {
    const { migrateUp } = await import("../../integrations/database/migrator.ts");
    const { loadConfig } = await import("../../lib/config.ts");
    await migrateUp(loadConfig({ SQLITE_PATH: path.join(dir, "shop.sqlite") }).database);
    proxy = await startTcpProxy({ host: "127.0.0.1", port: 6379 });
    node = await startTestNode({
      SQLITE_PATH: path.join(dir, "shop.sqlite"),
      CACHER: `redis://127.0.0.1:${proxy.port}`,
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
    await proxy?.close();
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

  test("Redis stops answering (connections open): reads go on without the cache, invalidations are not lost", async () => {
    const { COMMAND_TIMEOUT_MS, ResilientRedisCacher } = await import("../../integrations/cache/resilient-redis-cacher.ts");
    const cacher = () => node.broker.cacher as InstanceType<typeof ResilientRedisCacher>;
    expect(cacher()).toBeInstanceOf(ResilientRedisCacher);
    const p = await node.broker.call<any, any>("products.create", { sku: "R-3", name: "before", priceCents: 1, currency: "EUR" }, admin);
    expect((await http(`${node.api}/products/${p.id}`)).body.name).toBe("before");
    proxy.stall();
    try {
      // The read on this node once waited for Redis with nothing to bound it (the cacher is outside the call's timeout).
      const started = Date.now();
      const read = await http(`${node.api}/products/${p.id}`, { signal: AbortSignal.timeout(4 * COMMAND_TIMEOUT_MS) });
      expect({ status: read.status, name: read.body?.name }).toEqual({ status: 200, name: "before" });
      expect(Date.now() - started).toBeGreaterThanOrEqual(COMMAND_TIMEOUT_MS - 50); // it did ask Redis first
      expect(cacher().reachable).toBe(false);
      await node.broker.call("products.update", { id: p.id, name: "after" }, admin);
      const meanwhile = await http(`${node.api}/products/${p.id}`, { signal: AbortSignal.timeout(4 * COMMAND_TIMEOUT_MS) });
      expect(meanwhile.body?.name).toBe("after");
    } finally {
      proxy.restore();
    }
    // Once Redis answers again the change is what every read sees, and reads are cached again.
    await until("the outage to end (logged once, with its end)", async () => {
      await http(`${node.api}/products/${p.id}`);
      return cacher().reachable;
    });
    await until(
      "reads cached in Redis again",
      async () => {
        await http(`${node.api}/products/${p.id}`);
        return (await redis.keys(`${namespace}-cache*products.get*${p.id}*`)).length > 0;
      },
      { timeoutMs: 10_000 },
    );
    expect((await http(`${node.api}/products/${p.id}`)).body.name).toBe("after");
  });
});
