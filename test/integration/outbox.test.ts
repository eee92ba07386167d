/**
 * The transactional outbox (integrations/messaging/outbox.ts) on PostgreSQL and RabbitMQ: a message exists only
 * if its transaction commits; a RabbitMQ outage keeps it (in order) until RabbitMQ is back;
 * replicas relaying one table publish each row once.
 */
import { randomBytes } from "node:crypto";
import { jest } from "@jest/globals";
import { describeWithServers, SERVERS } from "../support/servers.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { startTcpProxy } from "../support/tcp-proxy.ts";
import { loadConfig } from "../../lib/config.ts";
import { createSequelize } from "../../integrations/database/sequelize.ts";
import { migrateUp } from "../../integrations/database/migrator.ts";
import { DurableEvents, type DurableMessage } from "../../integrations/messaging/durable-events.ts";
import { Outbox } from "../../integrations/messaging/outbox.ts";
import { until } from "../../scripts/support/until.ts";
import type { Sequelize } from "sequelize";

const AMQP = process.env.TEST_AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672";
const suite = await describeWithServers("postgres", "rabbitmq");

const quiet = () => {
  const lines: string[] = [];
  const log = (...a: unknown[]) => void lines.push(a.map(String).join(" "));
  return { lines, logger: { info: log, warn: log, error: log } };
};

suite("the transactional outbox", () => {
  const namespace = `outbox-${randomBytes(4).toString("hex")}`;
  let db: TestDatabase;
  let sequelize: Sequelize;
  let consumer: DurableEvents;
  const received: DurableMessage[] = [];
  const cleanup: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    db = await createTestDatabase("outbox");
    const config = loadConfig({ DATABASE_URL: db.url });
    await migrateUp(config.database);
    sequelize = createSequelize(config.database, { logging: false });
    consumer = new DurableEvents(AMQP, namespace, quiet().logger);
    await consumer.consume({
      group: "probe",
      patterns: ["#"],
      maxAttempts: 1,
      retryBaseMs: 10,
      handle: async (m) => void received.push(m),
    });
  });

  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => undefined);
    await sequelize.query("DELETE FROM orders_outbox");
    received.length = 0;
  });

  afterAll(async () => {
    await consumer?.deleteTopology([{ group: "probe", maxAttempts: 1 }]).catch(() => undefined);
    await consumer?.close(1000);
    await sequelize?.close();
    await db?.drop();
  });

  /** An outbox on orders_outbox publishing through its own RabbitMQ connection (to `url`). */
  function outboxVia(url: string, pollMs = 100, onPending?: (count: number) => void, deleteAfterMs?: number) {
    const log = quiet();
    const publisher = new DurableEvents(url, namespace, log.logger);
    const outbox = new Outbox(sequelize, "orders_outbox", publisher, log.logger, { pollMs, batchSize: 25, onPending, deleteAfterMs });
    cleanup.push(
      () => publisher.close(500),
      () => outbox.stop(),
    );
    return { outbox, publisher, log: log.lines };
  }
  const ids = () => received.map((m) => m.messageId);

  test(`a message exists only if its transaction commits; right after the commit it is published and its row deleted, \
with no poll and no relay transaction`, async () => {
    const { outbox } = outboxVia(AMQP);
    const statements: string[] = [];
    const original = sequelize.query.bind(sequelize);
    const spy = jest.spyOn(sequelize, "query");
    await sequelize
      .transaction(async (t) => {
        await outbox.add({ event: "order.created", payload: { n: 1 }, messageId: "rolled-back" }, t);
        throw new Error("the change failed");
      })
      .catch(() => undefined);
    await sequelize.transaction(async (t) => {
      await outbox.add({ event: "order.created", payload: { n: 2 }, messageId: "committed", requestId: "req-1" }, t);
      await outbox.add({ event: "order.status-changed", payload: { n: 3 }, messageId: "committed-too" }, t);
      // From here on, what the outbox runs (the publish after the commit).
      t.afterCommit(
        () =>
          void spy.mockImplementation(((sql: unknown, options?: object) => {
            statements.push(String(sql));
            return original(sql as string, options);
          }) as typeof sequelize.query),
      );
    });
    try {
      await until("the messages", () => received.length === 2, { timeoutMs: 5000 });
      expect(received.map((m) => [m.messageId, m.payload, m.requestId])).toEqual([
        ["committed", { n: 2 }, "req-1"],
        ["committed-too", { n: 3 }, undefined],
      ]);
      await until("the rows to be deleted", async () => (await outbox.pending()) === 0, { timeoutMs: 5000 });
    } finally {
      spy.mockRestore();
    }
    // One DELETE for both rows, outside any transaction (no START, SELECT … FOR UPDATE, COMMIT).
    expect(statements.filter((q) => !/count/i.test(q))).toEqual([
      expect.stringMatching(/^DELETE FROM "orders_outbox" WHERE id IN \(\$1, \$2\)/),
    ]);
    await new Promise((r) => setTimeout(r, 200)); // a fixed wait on purpose: it proves that the rolled-back one never goes out
    expect(ids()).toEqual(["committed", "committed-too"]);
  });

  test("rows confirmed within deleteAfterMs of each other are deleted by one DELETE", async () => {
    const { outbox } = outboxVia(AMQP, 100, undefined, 1000);
    const deletes: string[] = [];
    const original = sequelize.query.bind(sequelize);
    const spy = jest.spyOn(sequelize, "query").mockImplementation((async (sql: unknown, options?: object) => {
      if (String(sql).startsWith("DELETE")) deletes.push(String(sql));
      return original(sql as string, options);
    }) as typeof sequelize.query);
    try {
      for (const i of [0, 1, 2]) {
        await sequelize.transaction((t) => outbox.add({ event: "order.created", payload: { i }, messageId: `later-${i}` }, t));
        await until(`message ${i}`, () => received.length === i + 1, { timeoutMs: 5000 }); // published and confirmed, one at a time
      }
      expect(deletes).toEqual([]);
      await until("the outbox to empty", async () => (await outbox.pending()) === 0, { timeoutMs: 5000 });
    } finally {
      spy.mockRestore();
    }
    expect(deletes).toEqual([expect.stringMatching(/WHERE id IN \(\$1, \$2, \$3\)$/)]);
  });

  test("rows confirmed while a DELETE runs are deleted together in the next one", async () => {
    const { outbox } = outboxVia(AMQP);
    const deletes: string[] = [];
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const original = sequelize.query.bind(sequelize);
    const spy = jest.spyOn(sequelize, "query").mockImplementation((async (sql: unknown, options?: object) => {
      if (String(sql).startsWith("DELETE")) {
        deletes.push(String(sql));
        if (deletes.length === 1) await gate; // the first DELETE is slow
      }
      return original(sql as string, options);
    }) as typeof sequelize.query);
    try {
      const write = (i: number) =>
        sequelize.transaction((t) => outbox.add({ event: "order.created", payload: { i }, messageId: `batch-${i}` }, t));
      await write(0);
      await until("the first DELETE", () => deletes.length === 1, { timeoutMs: 5000 });
      await Promise.all([1, 2, 3, 4, 5].map(write));
      await until("every message", () => received.length === 6, { timeoutMs: 5000 });
      await new Promise((r) => setTimeout(r, 300)); // a fixed wait on purpose: every confirm is in before the first DELETE ends
      open();
      await until("the outbox to empty", async () => (await outbox.pending()) === 0, { timeoutMs: 5000 });
    } finally {
      open();
      spy.mockRestore();
    }
    expect(deletes).toEqual([
      expect.stringMatching(/WHERE id IN \(\$1\)$/),
      expect.stringMatching(/WHERE id IN \(\$1, \$2, \$3, \$4, \$5\)$/),
    ]);
  });

  test("a row its writer never published (a crash after the commit) is relayed by the poll once older than leftoverMs", async () => {
    const log = quiet();
    const publisher = new DurableEvents(AMQP, namespace, log.logger);
    const outbox = new Outbox(sequelize, "orders_outbox", publisher, log.logger, { pollMs: 100, leftoverMs: 1000 });
    cleanup.push(
      () => publisher.close(500),
      () => outbox.stop(),
    );
    await outbox.add({ event: "order.created", payload: {}, messageId: "left-over" }); // no transaction: nobody publishes it now
    const written = Date.now();
    outbox.start();
    await until("the leftover", () => ids().includes("left-over"), { timeoutMs: 5000 });
    expect(Date.now() - written).toBeGreaterThanOrEqual(900);
    await until("the outbox to empty", async () => (await outbox.pending()) === 0, { timeoutMs: 5000 });
    expect(ids()).toEqual(["left-over"]);
  });

  test(`while RabbitMQ is unreachable messages wait (the change is not held up); \
once it is back they go out in order, each once`, async () => {
    const proxy = await startTcpProxy(SERVERS.rabbitmq);
    cleanup.push(() => proxy.close());
    const backlog: number[] = [];
    const { outbox, log } = outboxVia(`amqp://guest:guest@127.0.0.1:${proxy.port}`, 100, (n) => backlog.push(n));
    outbox.start();
    await outbox.add({ event: "order.created", payload: {}, messageId: "before-outage" });
    outbox.kick();
    await until("the first message", () => ids().includes("before-outage"), { timeoutMs: 5000 });

    proxy.cut();
    for (let i = 0; i < 5; i++) {
      await outbox.add({ event: "order.status-changed", payload: { i }, messageId: `during-outage-${i}` });
      outbox.kick();
    }
    // A fixed wait on purpose: it proves that several polls while it is down publish nothing and log once.
    await new Promise((r) => setTimeout(r, 600));
    expect(await outbox.pending()).toBe(5);
    expect(ids()).toEqual(["before-outage"]);
    expect(log.filter((l) => /could not relay/.test(l))).toHaveLength(1); // once per outage, not per poll
    expect(backlog.at(-1)).toBe(5); // what the shop_outbox_pending gauge shows

    proxy.restore();
    await until("the waiting messages", () => received.length === 6, { timeoutMs: 15_000 });
    expect(ids()).toEqual(["before-outage", ...[0, 1, 2, 3, 4].map((i) => `during-outage-${i}`)]);
    // Confirmed first, deleted when the relay's transaction commits (a moment later).
    await until("the outbox to empty", async () => (await outbox.pending()) === 0, { timeoutMs: 5000 });
    await until("the backlog reported empty", () => backlog.at(-1) === 0, { timeoutMs: 5000 });
    expect(log.some((l) => /publishing again/.test(l))).toBe(true);
  });

  test("two replicas relaying one table publish each row once", async () => {
    const a = outboxVia(AMQP).outbox;
    const b = outboxVia(AMQP).outbox;
    const n = 300;
    // Written without a transaction: no publish after a commit, only the relays take them.
    for (let i = 0; i < n; i++) await a.add({ event: "order.created", payload: { i }, messageId: `m-${i}` });
    const [byA, byB] = await Promise.all([a.relay(), b.relay()]);
    expect(byA + byB).toBe(n);
    expect(byA).toBeGreaterThan(0);
    expect(byB).toBeGreaterThan(0);
    await until("every message", () => received.length >= n, { timeoutMs: 15_000 });
    await new Promise((r) => setTimeout(r, 300)); // a fixed wait on purpose: it proves that no row goes out twice
    expect(new Set(ids()).size).toBe(n);
    expect(received).toHaveLength(n);
    expect(await a.pending()).toBe(0);
  });
});
