/**
 * Fast failover of a dead or frozen shop node, on the shared RabbitMQ (only shop processes are
 * killed or frozen, never the broker):
 *
 *  - kill -9 of a products replica under 50 concurrent reads: its queues vanish with its
 *    connection, the requests RabbitMQ returns are retried on the other replica (UNDELIVERED),
 *    and the dead node is out of every registry at once: ≤ 0.1 % failed requests, none slower
 *    than 3 s;
 *  - SIGSTOP of a products replica under reads: moleculer's heartbeat check takes the frozen node
 *    out (its pending requests rejected and retried elsewhere); the slowest request shows how
 *    long that took (the heartbeat window of moleculer.config.ts). No 500.
 *
 * Prints the measured figures (FIGURES ...).
 */
import { describeWithServers } from "../support/servers.ts";
import { startShopCluster, loop, countByStatus, ADMIN, type ShopCluster } from "../support/shop-cluster.ts";
import { http } from "../support/node.ts";
import { exited, type NodeSpec } from "../../scripts/support/cluster.ts";
import { until } from "../../scripts/support/until.ts";

const suite = await describeWithServers("postgres", "rabbitmq");
const AMQP = process.env.TEST_AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672";
const NODES: NodeSpec[] = [
  { id: "api-1", services: "api" },
  { id: "users-1", services: "users" },
  { id: "products-1", services: "products" },
  { id: "products-2", services: "products" },
  { id: "orders-1", services: "orders" },
  { id: "mail-1", services: "mail" },
  { id: "storage-1", services: "storage" },
];

suite("failover of a dead or frozen replica", () => {
  let shop: ShopCluster;
  let productId: string;

  beforeAll(async () => {
    shop = await startShopCluster("rmq-failover", AMQP, { nodes: NODES });
    await shop.client.waitForServices(["products", "users", "orders", "mail", "storage"], 30_000);
    productId = (
      await shop.client.call<any, any>(
        "products.create",
        { sku: "FAIL-1", name: "Enamel mug", priceCents: 800, currency: "EUR", stock: 5 },
        ADMIN,
      )
    ).id;
  }, 90_000);

  afterAll(async () => {
    await shop?.stop();
  }, 60_000);

  afterEach(() => {
    const state = expect.getState();
    if (state.assertionCalls !== state.numPassingAsserts) console.log(shop.output());
  });

  /** 50 clients reading (uncached lists and one product) until stopped. */
  const readLoad = () =>
    loop(50, (w, i) => http(`${shop.api}/products${i % 3 === 0 ? `/${productId}` : `?page=${1 + ((w * 1000 + i) % 5000)}&search=enamel`}`));

  test("kill -9 of a products replica under 50 concurrent reads: ≤ 0.1 % failed, none slower than 3 s", async () => {
    const victim = shop.nodes.get("products-2")!;
    const load = readLoad();
    await new Promise((r) => setTimeout(r, 2000)); // scenario time: 2 s of reads before the kill
    const killedAt = Date.now();
    victim.child.kill("SIGKILL");
    await exited(victim.child);
    await new Promise((r) => setTimeout(r, 5000)); // scenario time: 5 s of reads after it, every one counted
    const samples = await load.stop();
    const after = samples.filter((s) => s.at - s.ms >= killedAt - 50);
    const failed = samples.filter((s) => s.status !== 200);
    const slowest = Math.max(...samples.map((s) => s.ms));
    const slowAfter = after.filter((s) => s.ms > 1000);
    const figures = {
      requests: samples.length,
      statuses: countByStatus(samples),
      failedPercent: Number(((100 * failed.length) / samples.length).toFixed(3)),
      slowestMs: slowest,
      p99AfterKillMs: after.map((s) => s.ms).sort((a, b) => a - b)[Math.floor(after.length * 0.99)],
      slowerThan1sAfterKill: slowAfter.length,
      lastSlowRequestEndedMsAfterKill: slowAfter.length ? Math.max(...slowAfter.map((s) => s.at)) - killedAt : 0,
    };
    console.log(`FIGURES kill -9 of a products replica under 50 concurrent reads: ${JSON.stringify(figures)}`);
    try {
      expect(failed.length / samples.length).toBeLessThanOrEqual(0.001);
      expect(slowest).toBeLessThan(3000);
      expect(failed.filter((s) => s.status === 500 || s.status === 404)).toEqual([]);
    } finally {
      // Back to two replicas for the next test, whatever this one found (else its failure would fail the next one too).
      shop.start(NODES.find((n) => n.id === "products-2")!);
      await until("products-2 to answer", async () => (await shop.client.ping("products-2", 1000)) != null, {
        timeoutMs: 30_000,
        intervalMs: 500,
      });
      // Its INFO is broadcast to every node: once this client knows its products service, the gateway does too.
      const known = () =>
        shop.client.registry.getServiceList({ onlyAvailable: true }).some((s) => s.name === "products" && s.nodeID === "products-2");
      await until("products-2's products service to be known", known, { timeoutMs: 10_000 });
    }
  }, 90_000);

  test("SIGSTOP of a products replica under reads: taken out within the heartbeat window, no 500", async () => {
    const victim = shop.nodes.get("products-2")!;
    expect(victim.child.exitCode).toBeNull();
    const load = loop(20, (w, i) => http(`${shop.api}/products?page=${1 + ((w * 1000 + i) % 5000)}&search=enamel`));
    await new Promise((r) => setTimeout(r, 2000)); // scenario time: 2 s of reads before the freeze
    const frozenAt = Date.now();
    victim.child.kill("SIGSTOP");
    try {
      await new Promise((r) => setTimeout(r, 15_000)); // scenario time: frozen 15 s, past the heartbeat window
    } finally {
      victim.child.kill("SIGCONT");
    }
    const samples = await load.stop();
    const during = samples.filter((s) => s.at >= frozenAt);
    // Requests that reached the frozen node waited until it was taken out: the slowest one is the time that took.
    const slowest = Math.max(...during.map((s) => s.ms));
    const stuckUntil = Math.max(0, ...during.filter((s) => s.ms > 1000).map((s) => s.at)) - frozenAt;
    const figures = {
      requests: samples.length,
      statuses: countByStatus(samples),
      slowestMs: slowest,
      lastSlowRequestEndedMsAfterFreeze: Math.max(0, stuckUntil),
      okInLast5s: during.filter((s) => s.at > frozenAt + 10_000 && s.status === 200).length,
    };
    console.log(`FIGURES SIGSTOP of a products replica under 20 concurrent reads: ${JSON.stringify(figures)}`);
    expect(samples.filter((s) => s.status === 500 || s.status === 404 || s.status === 0)).toEqual([]);
    // The frozen node is out before the 15 s freeze ends: moleculer's heartbeat check (2 s / 6 s) within 6-12 s.
    expect(figures.lastSlowRequestEndedMsAfterFreeze).toBeLessThan(14_000);
    expect(figures.okInLast5s).toBeGreaterThan(20);
    // It comes back by itself once it runs again.
    await until("products-2 to answer again", async () => (await shop.client.ping("products-2", 1000)) != null, {
      timeoutMs: 30_000,
      intervalMs: 500,
    });
  }, 90_000);
});
