/**
 * The order confirmation when RabbitMQ is unreachable at checkout: the order is placed (its
 * durable event waits in the orders outbox, written in the order's transaction) and the
 * e-mail is sent once, when RabbitMQ is back. One node with every service and its RabbitMQ
 * connections through a proxy the test cuts: calls stay in-process, only the events need RabbitMQ.
 */
import { randomBytes } from "node:crypto";
import { describeWithServers, SERVERS } from "../support/servers.ts";
import { startTestShop, type TestNode } from "../support/node.ts";
import { shopClient } from "../support/shop-client.ts";
import { startSmtp, type TestSmtp } from "../support/smtp.ts";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.ts";
import { deleteShopTopology } from "../../integrations/messaging/durable-events.ts";
import { until } from "../../scripts/support/until.ts";

const suite = await describeWithServers("postgres", "rabbitmq");
const AMQP = process.env.TEST_AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672";

suite("mail when RabbitMQ is unreachable at checkout", () => {
  const namespace = `mail-outage-${randomBytes(4).toString("hex")}`;
  let node: TestNode;
  let smtp: TestSmtp;
  let proxy: TcpProxy;
  const shop = shopClient(() => node);

  beforeAll(async () => {
    smtp = await startSmtp();
    proxy = await startTcpProxy(SERVERS.rabbitmq);
    node = await startTestShop("mail_outage", {
      TRANSPORTER: `amqp://guest:guest@127.0.0.1:${proxy.port}`,
      NAMESPACE: namespace,
      SMTP_URL: smtp.url,
      OUTBOX_POLL_MS: "200",
      METRICS: "true",
      METRICS_PORT: "0",
      RATE_LIMIT_FACTOR: "100",
    });
  });

  afterAll(async () => {
    proxy?.restore();
    await node?.stop();
    await deleteShopTopology(AMQP, namespace, node.config).catch(() => undefined);
    await proxy?.close();
    await smtp?.close();
  });

  test("the order is placed, its confirmation waits in the outbox, and is sent once RabbitMQ is back", async () => {
    const admin = (await shop.superuser()).token;
    const { email, token } = await shop.shopper("outage");
    const product = await shop.product(admin);
    await smtp.waitFor(email); // the welcome e-mail: everything flows

    proxy.cut();
    const placed = await shop.order(token, product.id, 2);
    expect(placed.status).toBe(201);
    const outbox = (node.broker.getLocalService("orders") as unknown as { outbox: { pending(): Promise<number> } }).outbox;
    expect(await outbox.pending()).toBe(1);
    // A fixed wait on purpose: it proves that several relay attempts while it is down send nothing and lose nothing.
    await new Promise((r) => setTimeout(r, 1000));
    expect(await outbox.pending()).toBe(1);
    expect(smtp.to(email)).toHaveLength(1);
    const gauge = () => node.broker.metrics.getMetric("shop.outbox.pending")?.get({ service: "orders" })?.value;
    expect(gauge()).toBe(1);

    proxy.restore();
    const [, confirmation] = await smtp.waitFor(email, 2, 30_000);
    expect(confirmation!.subject).toBe(`Order ${placed.body.id.slice(0, 8).toUpperCase()} confirmed: €49.98`);
    await until("the outbox to empty", async () => (await outbox.pending()) === 0);
    await until("the gauge to show it", () => gauge() === 0);
    await new Promise((r) => setTimeout(r, 500)); // a fixed wait on purpose: it proves that no duplicate follows
    expect(smtp.to(email)).toHaveLength(2);
    // The node's own transporter reconnects too (moleculer retries every 5 s).
    await until("the transporter to reconnect", () => (node.broker.transit as unknown as { tx: { connected: boolean } }).tx.connected, {
      timeoutMs: 20_000,
    });
  }, 60_000);
});
