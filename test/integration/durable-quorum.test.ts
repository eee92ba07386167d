/**
 * Durable events on quorum queues (integrations/messaging/durable-events.ts), on the shared RabbitMQ with a
 * namespace of their own: a message whose consumer dies with it every time ends in the
 * dead-letter queue after the delivery limit (no endless loop); a classic topology from an
 * older version is refused with a pointer to `npm run migrate:queues`, and the migration
 * (integrations/messaging/queue-migration.ts) moves every message of it, none lost.
 */
import { randomBytes } from "node:crypto";
import amqp from "amqplib";
import { describeWithServers, SERVERS } from "../support/servers.ts";
import { startTcpProxy } from "../support/tcp-proxy.ts";
import { DurableEvents, QueueMismatchError, type DurableMessage } from "../../integrations/messaging/durable-events.ts";
import { migrateGroupToQuorum } from "../../integrations/messaging/queue-migration.ts";
import { until } from "../../scripts/support/until.ts";

const AMQP = process.env.TEST_AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672";
const suite = await describeWithServers("rabbitmq");
const quiet = { info() {}, warn() {}, error() {} };

suite("durable events on quorum queues", () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => undefined);
  });

  test("a message whose consumer dies with it each time is dead-lettered after the delivery limit, with onDead", async () => {
    const namespace = `poison-${randomBytes(4).toString("hex")}`;
    const proxy = await startTcpProxy(SERVERS.rabbitmq);
    const consumer = new DurableEvents(`amqp://guest:guest@127.0.0.1:${proxy.port}`, namespace, quiet);
    const admin = new DurableEvents(AMQP, namespace, quiet);
    const group = { group: "crashy", maxAttempts: 2, retryBaseMs: 10, deliveryLimit: 3 };
    cleanup.push(
      () => proxy.close(),
      () => admin.close(0),
      () => admin.deleteTopology([group]),
      () => consumer.close(0),
    );
    let deliveries = 0;
    const dead: { message: DurableMessage; error: string }[] = [];
    await consumer.consume({
      ...group,
      patterns: ["crash.*"],
      // Each delivery takes the consumer's connection down with it, as a crash would; the handler never finishes.
      handle: () => {
        deliveries++;
        proxy.cut();
        setTimeout(() => proxy.restore(), 100);
        return new Promise<void>(() => undefined);
      },
      onDead: async (message, error) => void dead.push({ message, error }),
    });
    await admin.publish("crash.now", { boom: true }, "poison-1");
    await until("the message to be dead-lettered", () => dead.length === 1, { timeoutMs: 20_000 });
    expect(deliveries).toBe(3);
    expect(dead[0]).toMatchObject({
      message: { messageId: "poison-1", event: "crash.now" },
      error: expect.stringMatching(/delivered 3 times without being settled/),
    });
    expect(await admin.depth("crashy")).toEqual({ ready: 0, dead: 1 });
    await new Promise((r) => setTimeout(r, 500)); // a fixed wait on purpose: it proves that no fourth delivery comes
    expect(deliveries).toBe(3); // and never again
  }, 30_000);

  test(`a classic topology of an older version is refused with a pointer to the migration, \
which moves it to quorum queues losing nothing`, async () => {
    const namespace = `migrate-${randomBytes(4).toString("hex")}`;
    const exchange = `${namespace}.events`;
    const queue = `${namespace}.mail`;
    const group = { group: "mail", maxAttempts: 3, retryBaseMs: 100 };
    // What the previous version declared: classic queues, the retry queues dead-lettering into the group's queue.
    const connection = await amqp.connect(AMQP);
    const ch = await connection.createConfirmChannel();
    const admin = new DurableEvents(AMQP, namespace, quiet);
    cleanup.push(
      () => connection.close(),
      () => admin.close(0),
      () => admin.deleteTopology([group]),
    );
    await ch.assertExchange(exchange, "topic", { durable: true });
    await ch.assertQueue(queue, { durable: true });
    for (const pattern of ["order.*", "user.*"]) await ch.bindQueue(queue, exchange, pattern);
    for (let n = 0; n < 2; n++) {
      // Long TTLs here, so nothing moves by itself during the test.
      await ch.assertQueue(`${queue}.retry.${n}`, {
        durable: true,
        arguments: { "x-message-ttl": 600_000, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": queue },
      });
    }
    await ch.assertQueue(`${queue}.dead`, { durable: true, arguments: { "x-message-ttl": 14 * 86_400_000 } });
    const body = (messageId: string, attempt = 0) =>
      Buffer.from(JSON.stringify({ event: "order.created", payload: {}, messageId, attempt, publishedAt: new Date().toISOString() }));
    for (const id of ["waiting-1", "waiting-2", "waiting-3"])
      ch.publish(exchange, "order.created", body(id), { persistent: true, messageId: id });
    ch.sendToQueue(`${queue}.retry.1`, body("retrying-1", 2), { persistent: true, messageId: "retrying-1" });
    ch.sendToQueue(`${queue}.dead`, body("dead-1", 3), { persistent: true, messageId: "dead-1" });
    ch.sendToQueue(`${queue}.dead`, body("dead-2", 3), { persistent: true, messageId: "dead-2" });
    await ch.waitForConfirms();

    // The new version refuses to consume from it, and says what to do.
    const early = new DurableEvents(AMQP, namespace, quiet);
    await expect(early.consume({ ...group, patterns: ["order.*", "user.*"], handle: async () => undefined })).rejects.toThrow(
      QueueMismatchError,
    );
    await expect(early.consume({ ...group, patterns: ["order.*", "user.*"], handle: async () => undefined })).rejects.toThrow(
      /npm run migrate:queues/,
    );
    await early.close(0);

    const lines: string[] = [];
    const report = await migrateGroupToQuorum(AMQP, namespace, group, ["order.*", "user.*"], (l) => lines.push(l));
    expect(report.migrated.sort()).toEqual([queue, `${queue}.dead`, `${queue}.retry.0`, `${queue}.retry.1`].sort());
    // Published after the migration: reaches the new queue.
    await admin.publish("user.registered", {}, "after-1");
    // Again: nothing to do.
    expect(await migrateGroupToQuorum(AMQP, namespace, group, ["order.*", "user.*"])).toMatchObject({ migrated: [], moved: 0 });

    const received: string[] = [];
    const consumer = new DurableEvents(AMQP, namespace, quiet);
    cleanup.push(() => consumer.close(0));
    await consumer.consume({ ...group, patterns: ["order.*", "user.*"], handle: async (m) => void received.push(m.messageId) });
    await until("every waiting message", () => received.length >= 5, { timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 300)); // a fixed wait on purpose: it proves that no message comes twice
    expect(received.sort()).toEqual(["after-1", "retrying-1", "waiting-1", "waiting-2", "waiting-3"]);
    expect(await admin.depth("mail")).toEqual({ ready: 0, dead: 2 });
    // The holding queues are gone.
    const probe = await connection.createChannel();
    probe.on("error", () => undefined);
    await expect(probe.checkQueue(`${queue}.migrating`)).rejects.toThrow(/NOT_FOUND/);
  }, 30_000);
});
