/**
 * RabbitMQ stopped and restarted under load (a private RabbitMQ node on its own port,
 * test/support/rabbitmq.ts; never the shared broker): requests succeed again within 5 s of the
 * broker's return, with no 404 and no 500 meanwhile; durable events (a consumer and an outbox
 * relay) reconnect within about a second of its return. Then the same broker frozen (SIGSTOP):
 * no 404 or 500 either, and requests succeed again within 5 s of the thaw. Prints the measured
 * figures (FIGURES ...).
 */
import { randomBytes } from "node:crypto";
import { describeWithServers } from "../support/servers.ts";
import { createRabbitNodes, rabbitmqAvailable, type RabbitCluster } from "../support/rabbitmq.ts";
import { startShopCluster, loop, countByStatus, ADMIN, type ShopCluster } from "../support/shop-cluster.ts";
import { http } from "../support/node.ts";
import { DurableEvents, type DurableMessage } from "../../integrations/messaging/durable-events.ts";
import { until } from "../../scripts/support/until.ts";
import type { NodeSpec } from "../../scripts/support/cluster.ts";

const suite = await describeWithServers("postgres");
if (!rabbitmqAvailable() && process.env.REQUIRE_SERVICES === "1")
  throw new Error("REQUIRE_SERVICES=1 and rabbitmq-server/rabbitmqctl (run as root) are not available for a private RabbitMQ node.");
if (!rabbitmqAvailable()) console.warn("\n*** SKIPPED: a private RabbitMQ node needs rabbitmq-server and root. ***\n");

const NODES: NodeSpec[] = [
  { id: "api-1", services: "api" },
  { id: "users-1", services: "users" },
  { id: "products-1", services: "products" },
  { id: "products-2", services: "products" },
  { id: "orders-1", services: "orders" },
  { id: "mail-1", services: "mail" },
  { id: "storage-1", services: "storage" },
];

(rabbitmqAvailable() ? suite : describe.skip)("RabbitMQ stopped and restarted", () => {
  let rabbit: RabbitCluster;
  let shop: ShopCluster;

  beforeAll(async () => {
    rabbit = await createRabbitNodes(1, "restart");
    await rabbit.start(rabbit.nodes[0]!);
    shop = await startShopCluster("rmq-restart", rabbit.urls, { nodes: NODES });
    await shop.client.waitForServices(["products", "users", "orders", "mail", "storage"], 30_000);
  }, 120_000);

  afterAll(async () => {
    await shop?.stop();
    await rabbit?.destroy();
  }, 60_000);

  afterEach(() => {
    const state = expect.getState();
    if (state.assertionCalls !== state.numPassingAsserts) console.log(shop.output());
  });

  /** A product, and 8 workers reading it and searching the catalogue until stopped. */
  async function readsUnderLoad(sku: string) {
    const product = await shop.client.call<any, any>(
      "products.create",
      { sku, name: "Sturdy mug", priceCents: 700, currency: "EUR", stock: 5 },
      ADMIN,
    );
    const load = loop(8, (w, i) =>
      http(`${shop.api}/products${i % 4 === 0 ? `/${product.id}` : `?page=${1 + ((w * 1000 + i) % 500)}&search=sturdy`}`),
    );
    return { product, load };
  }

  /** No 404 and no 500: every failure is an outage's (502, 503, 504). */
  function expectHonest(samples: { status: number }[], statuses: Record<number, number>) {
    expect(statuses[404] ?? 0).toBe(0);
    expect(statuses[500] ?? 0).toBe(0);
    for (const s of samples.filter((x) => x.status !== 200)) expect([502, 503, 504]).toContain(s.status);
  }

  /** The cluster is whole again: ready, and a checkout goes through (orders → products → outbox → mail). */
  async function expectWhole(productId: string, shopper: string) {
    await until("the gateway to be ready", async () => (await http(`${shop.api}/health/ready`)).status === 200, { timeoutMs: 15_000 });
    const buyer = await shop.rest.shopper(shopper);
    expect((await shop.rest.order(buyer.token, productId, 1)).status).toBe(201);
    await shop.smtp.waitFor(buyer.email, 2, 15_000); // welcome + confirmation
  }

  test(`requests succeed again within 5 s of the broker's return, no 404 or 500 meanwhile; \
durable events reconnect within ~1 s`, async () => {
    const broker = rabbit.nodes[0]!;

    // Durable events in this process, on the same broker: a consumer, and a publisher used as an outbox relay would.
    const quiet = { info() {}, warn() {}, error() {} };
    const namespace = `restart-probe-${randomBytes(3).toString("hex")}`;
    const consumer = new DurableEvents(rabbit.urls, namespace, quiet);
    const publisher = new DurableEvents(rabbit.urls, namespace, quiet);
    const received: { id: string; at: number }[] = [];
    await consumer.consume({
      group: "probe",
      patterns: ["#"],
      maxAttempts: 1,
      retryBaseMs: 10,
      handle: async (m: DurableMessage) => void received.push({ id: m.messageId, at: Date.now() }),
    });
    let consumerBack = 0;
    let publisherBack = 0;
    consumer.onReconnected(() => (consumerBack = Date.now()));
    publisher.onReconnected(() => (publisherBack = Date.now()));
    await publisher.publish("probe.before", {}, "before");
    await until("the first probe", () => received.length === 1, { timeoutMs: 5000 });

    const { product, load } = await readsUnderLoad("RESTART-1");
    await new Promise((r) => setTimeout(r, 1500)); // scenario time: 1.5 s of reads before the stop
    const stoppedAt = Date.now();
    await rabbit.stop(broker);
    await new Promise((r) => setTimeout(r, 5000)); // scenario time: RabbitMQ stays down 5 s
    await rabbit.start(broker);
    const backAt = Date.now(); // AMQP port answering again
    // The publisher has nothing to do until asked; what an outbox relay does after an outage (it is kicked on reconnect).
    await until("the publisher to reconnect", () => publisherBack > 0, { timeoutMs: 10_000, intervalMs: 20 });
    await publisher.publish("probe.after", {}, "after");
    await until("the consumer to get a message published after the return", () => received.some((r) => r.id === "after"), {
      timeoutMs: 10_000,
      intervalMs: 20,
    });
    await new Promise((r) => setTimeout(r, 6000)); // scenario time: 6 s of reads after the return, every one counted
    const samples = await load.stop();

    const statuses = countByStatus(samples);
    const failedAfterReturn = samples.filter((s) => s.at > backAt && s.status !== 200);
    const lastFailure = Math.max(0, ...samples.filter((s) => s.status !== 200).map((s) => s.at));
    const successAgainMs = Math.max(0, lastFailure - backAt);
    const firstOkAfterReturn =
      samples.filter((s) => s.at > backAt && s.status === 200).reduce((m, s) => Math.min(m, s.at), Infinity) - backAt;
    const figures = {
      outageMs: backAt - stoppedAt,
      requests: samples.length,
      statuses,
      failedAfterReturn: failedAfterReturn.length,
      succeedAgainMsAfterReturn: successAgainMs,
      firstOkMsAfterReturn: firstOkAfterReturn,
      durableConsumerReconnectMs: consumerBack - backAt,
      durablePublisherReconnectMs: publisherBack - backAt,
      slowestMs: Math.max(...samples.map((s) => s.ms)),
    };
    console.log(`FIGURES rabbitmq restart: ${JSON.stringify(figures)}`);
    await consumer.deleteTopology([{ group: "probe", maxAttempts: 1 }]).catch(() => undefined);
    await consumer.close(500);
    await publisher.close(500);

    if (statuses[404]) console.log(JSON.stringify(samples.filter((s) => s.status === 404).slice(0, 3)));
    expectHonest(samples, statuses);
    // ~0.3-0.7 s on a quiet machine; 3.0 s seen with the whole suite running beside it. Issue 14's bound is 5 s.
    expect(successAgainMs).toBeLessThanOrEqual(5000);
    expect(figures.durableConsumerReconnectMs).toBeLessThanOrEqual(2500); // ~1 s; margin for a loaded machine
    expect(figures.durablePublisherReconnectMs).toBeLessThanOrEqual(2500);
    await expectWhole(product.id, "restart");
  }, 120_000);

  test("RabbitMQ frozen 16 s (SIGSTOP: connections open, nothing answers): no 404 or 500, back within 5 s of the thaw", async () => {
    const broker = rabbit.nodes[0]!;
    await until("the gateway to be ready", async () => (await http(`${shop.api}/health/ready`)).status === 200, { timeoutMs: 15_000 });
    const { product, load } = await readsUnderLoad("FROZEN-1");
    await new Promise((r) => setTimeout(r, 1500)); // scenario time: 1.5 s of reads before the freeze
    const frozenAt = Date.now();
    rabbit.freeze(broker);
    try {
      // Longer than moleculer's heartbeat timeout (6 s) and than three AMQP heartbeats (15 s): the
      // nodes lose sight of each other, then drop their connections and reconnect after the thaw.
      await new Promise((r) => setTimeout(r, 16_000));
    } finally {
      rabbit.thaw(broker);
    }
    const thawedAt = Date.now();
    await new Promise((r) => setTimeout(r, 8000)); // scenario time: 8 s of reads after the thaw, every one counted
    const samples = await load.stop();
    const statuses = countByStatus(samples);
    const lastFailure = Math.max(0, ...samples.filter((s) => s.status !== 200).map((s) => s.at));
    const figures = {
      frozenMs: thawedAt - frozenAt,
      requests: samples.length,
      statuses,
      succeedAgainMsAfterThaw: Math.max(0, lastFailure - thawedAt),
      slowestMs: Math.max(...samples.map((s) => s.ms)),
    };
    console.log(`FIGURES rabbitmq frozen: ${JSON.stringify(figures)}`);
    expectHonest(samples, statuses);
    expect(figures.succeedAgainMsAfterThaw).toBeLessThanOrEqual(5000);
    await expectWhole(product.id, "frozen");
  }, 120_000);
});
