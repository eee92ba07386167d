/**
 * Readiness degrades instead of cascading, and the routes of a service that is down answer 503
 * (they exist; the service is away), never 404: a gateway on a node without mail and storage,
 * then without products.
 */
import { randomUUID } from "node:crypto";
import { describeWithServers } from "../support/servers.ts";
import { startTestShop, type TestNode } from "../support/node.ts";
import { shopClient, as, PASSWORD } from "../support/shop-client.ts";
import { until } from "../../scripts/support/until.ts";

const suite = await describeWithServers("postgres");

suite("readiness and routes of services that are down", () => {
  let node: TestNode & { databaseUrl: string };
  let adminToken: string;
  const shop = shopClient(() => node);
  const { http } = shop;

  beforeAll(async () => {
    node = await startTestShop("readiness", { SERVICES: "api,users,products,orders", RATE_LIMIT_FACTOR: "100" });
    adminToken = (await shop.superuser()).token;
  }, 60_000);
  afterAll(() => node?.stop());

  const asAdmin = () => as(adminToken);

  test("without mail and storage the gateway is ready, degraded, and says which are down", async () => {
    const res = await http(`/health/ready`);
    expect(res).toMatchObject({
      status: 200,
      body: {
        status: "degraded",
        critical: ["users", "products", "orders"],
        services: { users: "ok", products: "ok", orders: "ok", mail: "not discovered", storage: "not discovered" },
      },
    });
  });

  test("their routes answer 503 with Retry-After, not 404; a path nobody serves stays 404", async () => {
    for (const path of ["/mail/failed", "/files/0b9e0c55-6a8f-4a0a-9d50-0a7f1f6f3e11", "/files"]) {
      const res = await http(`${path}`, { headers: asAdmin() });
      expect({ path, status: res.status, type: res.body?.type }).toEqual({ path, status: 503, type: "SERVICE_UNAVAILABLE" });
      expect(res.headers.get("retry-after")).toBe("5");
    }
    expect((await http(`/no-such-thing`)).status).toBe(404);
    expect((await http(`/products/${randomUUID()}`)).status).toBe(404); // products is up: a missing product is a 404
  });

  test("without a critical service the gateway is not ready, and that service's routes are 503", async () => {
    await node.broker.destroyService(node.broker.getLocalService("products")!);
    try {
      const ready = await http(`/health/ready`);
      expect(ready).toMatchObject({ status: 503, body: { status: "unavailable", services: { products: "not discovered" } } });
      const res = await http(`/products`);
      expect(res).toMatchObject({ status: 503, body: { type: "SERVICE_UNAVAILABLE" } });
      expect(res.headers.get("retry-after")).toBe("5");
    } finally {
      const { loadServiceSchema } = await import("../../broker.ts");
      node.broker.createService(await loadServiceSchema("products"));
    }
  });

  test("without users, signing in is 503 with Retry-After, not a 401 that would make a client drop a good token", async () => {
    const { loadServiceSchema } = await import("../../broker.ts");
    const ada = await shop.shopper("ada"); // signed in; this gateway has not met the token yet
    const basic = { authorization: `Basic ${Buffer.from(`${ada.email}:${PASSWORD}`).toString("base64")}` };
    await node.broker.destroyService(node.broker.getLocalService("users")!);
    try {
      for (const headers of [as(ada.token), basic]) {
        const res = await http(`/orders`, { headers });
        expect({ status: res.status, type: res.body?.type }).toEqual({ status: 503, type: "SERVICE_UNAVAILABLE" });
        expect(res.headers.get("retry-after")).toBe("5");
      }
    } finally {
      node.broker.createService(await loadServiceSchema("users"));
      await node.broker.waitForServices(["users"]);
    }
    await until("users routed again", async () => (await http(`/health/ready`)).status === 200);
    expect((await http(`/orders`, { headers: as(ada.token) })).status).toBe(200);
  });

  test("a service that is back but not yet routed (aliases regenerate 20 ms later) answers 503, not 404", async () => {
    const { loadServiceSchema } = await import("../../broker.ts");
    const gateway = node.broker.getLocalService("api") as unknown as { regenerateAllAutoAliases(): void };
    const regenerate = gateway.regenerateAllAutoAliases;
    const regenerated = () => new Promise<void>((resolve) => node.broker.localBus.once("$api.aliases.regenerated", () => resolve()));
    const gone = regenerated();
    await node.broker.destroyService(node.broker.getLocalService("products")!);
    await gone;
    // Hold the gateway's route regeneration: products is back in the registry, its routes not yet.
    gateway.regenerateAllAutoAliases = () => undefined;
    try {
      node.broker.createService(await loadServiceSchema("products"));
      await node.broker.waitForServices(["products"]);
      expect(await http(`/products`)).toMatchObject({ status: 503, body: { type: "SERVICE_UNAVAILABLE" } });
    } finally {
      gateway.regenerateAllAutoAliases = regenerate;
    }
    const back = regenerated();
    gateway.regenerateAllAutoAliases();
    await back;
    expect((await http(`/products`)).status).toBe(200);
  });

  test("a service that joins is routed, and the gateway ready again, within a few tens of ms (not moleculer-web's 500)", async () => {
    const { loadServiceSchema } = await import("../../broker.ts");
    // Gone, and its routes with it (else the old routes would still be there when it joins).
    const gone = new Promise<void>((resolve) => node.broker.localBus.once("$api.aliases.regenerated", () => resolve()));
    await node.broker.destroyService(node.broker.getLocalService("products")!);
    await gone;
    expect((await http(`/health/ready`)).status).toBe(503);
    node.broker.createService(await loadServiceSchema("products"));
    // Watched closely (waitForServices looks once a second, past any debounce): the moment products is in the registry.
    const inRegistry = () =>
      node.broker.registry.getServiceList({ onlyAvailable: true }).some((s: { name: string }) => s.name === "products");
    await until("products in the registry", async () => inRegistry(), { timeoutMs: 5000, intervalMs: 1 });
    const joined = performance.now();
    await until("products routed and the gateway ready", async () => (await http(`/health/ready`)).status === 200, {
      timeoutMs: 5000,
      intervalMs: 5,
    });
    expect(performance.now() - joined).toBeLessThan(300);
    expect((await http(`/products`)).status).toBe(200);
  });
});
