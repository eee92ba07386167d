/**
 * Faults under load, on a real cluster: a gateway, users, products x2, orders x2, mail and
 * storage as their own processes over RabbitMQ, on a PostgreSQL server of this suite's own
 * (so it can be restarted and stopped), with Redis behind a TCP proxy (so it can be cut) and a
 * real SMTP server. Each test breaks one thing while checkouts and reads run, then checks what
 * the failure rules promise (docs/reliability.md): no duplicate orders (each checkout carries a
 * tag, and no Idempotency-Key, so only the shop's own at-most-once can keep it single), no 500,
 * no 404 for routes that exist, 503/504 with Retry-After during the outage, exact stock (every
 * held reservation belongs to an order and every order holds its reservation, within 30 s of
 * recovery), and each confirmation e-mail exactly once. Figures are printed as `FAULT ...` lines.
 * (RabbitMQ faults and a killed replica: test/faults/rabbitmq-*.test.ts.)
 */
import { randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import { ServiceBroker } from "moleculer";
import { describeWithServers } from "../support/servers.ts";
import { startPrivatePostgres, postgresBinaries, type PrivatePostgres } from "../support/private-postgres.ts";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.ts";
import { startSmtp, type TestSmtp } from "../support/smtp.ts";
import { printNodeOutputOnFailure } from "../support/node-output.ts";
import { http } from "../support/node.ts";
import { shopClient, as, ADDRESS } from "../support/shop-client.ts";
import { timed, load, byStatus, dishonest, recoveryMs, report, type Outcome } from "../support/load.ts";
import { LOCAL_CLUSTER, localClusterEnv, spawnCaptured, exited, type CapturedNode } from "../../scripts/support/cluster.ts";
import { freePort } from "../../scripts/support/free-port.ts";
import { until } from "../../scripts/support/until.ts";
import { loadConfig } from "../../lib/config.ts";
import { migrateUp } from "../../integrations/database/migrator.ts";
import { COUNTER_COMMAND_TIMEOUT_MS } from "../../integrations/authentication/rate-limit.ts";
import { COMMAND_TIMEOUT_MS } from "../../integrations/cache/resilient-redis-cacher.ts";
import { amqpTransporter } from "../../moleculer.config.ts";
import { deleteShopTopology } from "../../integrations/messaging/durable-events.ts";

const suite = await describeWithServers("rabbitmq", "redis");
if (!postgresBinaries() && process.env.REQUIRE_SERVICES === "1")
  throw new Error("REQUIRE_SERVICES=1 and the PostgreSQL server binaries are missing");
const describeFaults = postgresBinaries() ? suite : describe.skip;
const AMQP = process.env.TEST_AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672";

describeFaults("faults under load on a real cluster", () => {
  const namespace = `faults-${randomBytes(4).toString("hex")}`;
  const nodes = new Map<string, CapturedNode>();
  let postgres: PrivatePostgres;
  let sql: pg.Pool;
  let redis: TcpProxy;
  let smtp: TestSmtp;
  let env: NodeJS.ProcessEnv;
  let api: string;
  let client: ServiceBroker;
  let shoppers: string[] = [];
  let adminToken: string;
  const shop = shopClient(() => ({ api, broker: client }));

  const start = (id: string) => {
    const spec = LOCAL_CLUSTER.find((n) => n.id === id)!;
    nodes.set(id, spawnCaptured(spec, env));
  };
  const ready = async () => (await http(`${api}/health/ready`)).body?.status === "ok";

  beforeAll(async () => {
    postgres = await startPrivatePostgres();
    await migrateUp(loadConfig({ DATABASE_URL: postgres.url() }).database);
    sql = new pg.Pool({ connectionString: postgres.url(), max: 2 });
    sql.on("error", () => undefined); // the suite restarts the server under it
    redis = await startTcpProxy({ host: "127.0.0.1", port: 6379 });
    smtp = await startSmtp();
    const port = await freePort();
    api = `http://127.0.0.1:${port}/api`;
    const redisUrl = `redis://127.0.0.1:${redis.port}`;
    env = localClusterEnv(
      { namespace, transporter: AMQP, databaseUrl: postgres.url() },
      {
        CACHER: redisUrl,
        RATE_LIMIT_STORE: redisUrl,
        RATE_LIMIT_FACTOR: "1000",
        SMTP_URL: smtp.url,
        MAIL_RETRY_BASE_MS: "200",
        PORT: String(port),
        HOST: "127.0.0.1",
      },
    );
    for (const spec of LOCAL_CLUSTER) start(spec.id);
    client = new ServiceBroker({
      namespace,
      nodeID: `faults-client-${process.pid}`,
      transporter: amqpTransporter(AMQP, 100),
      logger: false,
    });
    await client.start();
    await until("every service to be ready", ready, { timeoutMs: 60_000 });
    await client.waitForServices(["users", "products", "orders", "mail", "storage"], 30_000);

    adminToken = (await shop.superuser()).token;
    shoppers = (await shop.shoppers(16)).map((s) => s.token);
  }, 120_000);

  afterAll(async () => {
    await client?.stop();
    for (const { child } of nodes.values()) {
      child.kill("SIGCONT");
      child.kill("SIGTERM");
    }
    await Promise.all([...nodes.values()].map(({ child }) => exited(child)));
    await deleteShopTopology(AMQP, namespace, loadConfig(env)).catch(() => undefined);
    await sql?.end();
    await redis?.close();
    await smtp?.close();
    await postgres?.destroy();
  }, 60_000);

  printNodeOutputOnFailure(nodes);

  const product = async (stock: number) => (await shop.product(adminToken, { name: "Sturdy mug", priceCents: 900, stock })).id;

  /** A checkout of one unit, tagged so its orders can be counted; no Idempotency-Key. */
  const checkout = (productId: string, i: number) => {
    const tag = `tag-${randomUUID()}`;
    return timed(
      `${api}/orders`,
      {
        method: "POST",
        headers: as(shoppers[i % shoppers.length]!, { "content-type": "application/json" }),
        body: JSON.stringify({ items: [{ productId, quantity: 1 }], shippingAddress: { ...ADDRESS, line2: tag } }),
      },
      tag,
    );
  };
  const read = (productId: string) => timed(`${api}/products/${productId}`);

  /** What the database says about a product: its stock, its orders (with their tags), its held reservations. */
  async function ledger(productId: string) {
    const like = `%${productId}%`;
    const stock = (await sql.query("SELECT stock FROM products WHERE id = $1", [productId])).rows[0].stock as number;
    const orders = (await sql.query(`SELECT id, "shippingAddress"->>'line2' AS tag FROM orders WHERE items::text LIKE $1`, [like]))
      .rows as { id: string; tag: string }[];
    const held = (
      await sql.query(`SELECT id FROM stock_reservations WHERE status IN ('reserved', 'settled') AND items::text LIKE $1`, [like])
    ).rows.map((r) => r.id as string);
    return { stock, orders, held };
  }

  /**
   * No duplicates, every 201 has its order, and within 30 s the ledger adds up: each held
   * reservation belongs to an order, each order holds one, and stock = initial - orders.
   */
  async function assertExact(productId: string, initial: number, outcomes: readonly Outcome[]) {
    const first = await ledger(productId);
    const perTag = new Map<string, number>();
    for (const o of first.orders) perTag.set(o.tag, (perTag.get(o.tag) ?? 0) + 1);
    expect([...perTag.values()].filter((n) => n > 1)).toEqual([]);
    const ordered = new Set(first.orders.map((o) => o.id));
    expect(outcomes.filter((o) => o.status === 201 && !ordered.has(o.body.id))).toEqual([]);
    await until(
      "every reservation to belong to an order and the stock to add up",
      async () => {
        const now = await ledger(productId);
        return (
          now.held.length === now.orders.length &&
          now.held.every((id) => now.orders.some((o) => o.id === id)) &&
          now.stock === initial - now.orders.length
        );
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    return (await ledger(productId)).orders;
  }

  /** Each order's confirmation e-mail arrives exactly once. */
  async function assertMailedOnce(orderIds: string[]) {
    const count = (id: string) => smtp.messages.filter((m) => m.headers.get("x-shop-delivery") === `order.created:${id}`).length;
    await until(`${orderIds.length} confirmation e-mails`, () => orderIds.every((id) => count(id) >= 1), {
      timeoutMs: 60_000,
      intervalMs: 200,
    });
    // A fixed wait on purpose: it proves that no duplicate follows (one would come about now).
    await new Promise((r) => setTimeout(r, 1500));
    expect(orderIds.filter((id) => count(id) !== 1)).toEqual([]);
  }

  /**
   * A database outage under load: 6 checkout and 6 read workers for 2 s, then `outage` (it
   * resolves once PostgreSQL is back), then 5 s more. Checks what every such outage must give
   * (honest failures only, some of them, all answered again within 5 s, exact stock, each e-mail
   * once) and returns the outcomes.
   */
  async function underDatabaseOutage(fault: string, outage: () => Promise<void>): Promise<Outcome[]> {
    const productId = await product(1000);
    const startedAt = Date.now();
    let backAt = Infinity;
    const stopLoad = () => Date.now() > backAt + 5_000 || Date.now() - startedAt > 40_000;
    const running = Promise.all([
      load(6, (i) => checkout(productId, i), { until: stopLoad }),
      load(6, () => read(productId), { until: stopLoad }),
    ]);
    await new Promise((r) => setTimeout(r, 2_000)); // scenario time: 2 s of load before the outage
    await outage();
    backAt = Date.now();
    const outcomes = (await running).flat();
    const recovered = recoveryMs(outcomes, backAt);
    console.log(report(fault, outcomes, { "recovered after ms": recovered }));
    expect(dishonest(outcomes)).toEqual([]);
    expect(outcomes.filter((o) => o.status === 503 || o.status === 504).length).toBeGreaterThan(0); // the outage was seen
    expect(recovered).toBeLessThan(5_000);
    const orders = await assertExact(productId, 1000, outcomes);
    await assertMailedOnce(orders.map((o) => o.id));
    return outcomes;
  }

  test("mail nodes all down: every gateway stays ready, checkout sells, each e-mail goes out once after", async () => {
    const mail = nodes.get("mail-1")!;
    mail.child.kill("SIGTERM");
    expect(await exited(mail.child)).toBe(0);
    await until("mail to be gone", async () => (await http(`${api}/health/ready`)).body?.services?.mail === "not discovered", {
      timeoutMs: 20_000,
    });

    expect(await http(`${api}/health/ready`)).toMatchObject({ status: 200, body: { status: "degraded" } });
    const failedList = await http(`${api}/mail/failed`, { headers: as(adminToken) });
    expect(failedList).toMatchObject({ status: 503, body: { type: "SERVICE_UNAVAILABLE" } });
    const productId = await product(100);
    const outcomes = await load(10, (i) => checkout(productId, i), { count: 30 });
    console.log(report("mail down", outcomes));
    expect(byStatus(outcomes)).toEqual({ 201: 30 });

    const backAt = Date.now();
    start("mail-1");
    const orders = await assertExact(productId, 100, outcomes);
    await assertMailedOnce(orders.map((o) => o.id));
    console.log(report("mail back", [], { "all mail delivered after ms": Date.now() - backAt }));
    await until("every service to be ready", ready, { timeoutMs: 30_000 });
  }, 120_000);

  // Before the Redis cut below: the nodes' Redis clients are connected (after a cut they reconnect with a backoff).
  test("Redis stops answering (connections open): logins and reads go on, no 504; the cache works again after", async () => {
    const productId = await product(10);
    redis.stall();
    const stalledAt = Date.now();
    let outcomes: Outcome[];
    try {
      // Before: a sign-in waited on the stuck counter store, a read on the stuck cache, until the request's timeout (504).
      const [signIns, productReads] = await Promise.all([
        load(
          4,
          (i) =>
            timed(`${api}/auth/login`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ email: "nobody@example.com", password: `wrong ${i}` }),
            }),
          { count: 8 },
        ),
        load(8, () => read(productId), { until: () => Date.now() - stalledAt > 3000 }),
      ]);
      outcomes = [...signIns, ...productReads];
    } finally {
      redis.restore();
    }
    console.log(report("Redis stalled", outcomes));
    expect(outcomes.filter((o) => ![200, 401].includes(o.status))).toEqual([]);
    const logins = outcomes.filter((o) => o.status === 401);
    expect(logins).toHaveLength(8);
    // Each did wait for Redis (so the nodes were connected to it when it stalled): a login asks the counters 3 times.
    expect(Math.min(...logins.map((o) => o.ms))).toBeGreaterThanOrEqual(COUNTER_COMMAND_TIMEOUT_MS);
    const reads = outcomes.filter((o) => o.status === 200).map((o) => o.ms);
    expect(reads.filter((ms) => ms >= COMMAND_TIMEOUT_MS).length).toBeGreaterThan(reads.length / 2);
    await until("reads to be served from Redis again", async () => (await read(productId)).status === 200, { timeoutMs: 10_000 });
  }, 60_000);

  test("Redis unreachable: logins and reads go on (no 500), one log line per node; the cache works again after", async () => {
    const productId = await product(10);
    const linesBefore = new Map([...nodes].map(([id, n]) => [id, n.output.join("").split("\n").length]));
    redis.cut();
    const cutAt = Date.now();
    const outcomes = [
      ...(await load(
        4,
        (i) =>
          timed(`${api}/auth/login`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ email: "nobody@example.com", password: `wrong ${i}` }),
          }),
        { count: 8 },
      )),
      ...(await load(8, () => read(productId), { until: () => Date.now() - cutAt > 3000 })),
    ];
    const logins = await Promise.all(
      shoppers.slice(0, 4).map(async (token) => (await http(`${api}/users/me`, { headers: as(token) })).status),
    );
    redis.restore();
    console.log(report("Redis cut", outcomes));
    expect(logins).toEqual([200, 200, 200, 200]);
    expect(outcomes.filter((o) => ![200, 401].includes(o.status))).toEqual([]);
    // One warning per affected client per node, not one per reconnect attempt.
    const redisLines = [...nodes].map(
      ([id, n]) =>
        n.output
          .join("")
          .split("\n")
          .slice(linesBefore.get(id))
          .filter((l) => /Redis/.test(l)).length,
    );
    expect(Math.max(...redisLines)).toBeLessThanOrEqual(4);
    await until("reads to be served from Redis again", async () => (await read(productId)).status === 200, { timeoutMs: 10_000 });
  }, 60_000);

  test("a products replica frozen during concurrent checkouts: no duplicate order, no 500, exact stock", async () => {
    const productId = await product(100);
    const victim = nodes.get("products-1")!.child;
    const running = load(20, (i) => checkout(productId, i), { count: 40 });
    await new Promise((r) => setTimeout(r, 30)); // scenario time: the first checkouts reach the replica before it freezes
    victim.kill("SIGSTOP");
    await new Promise((r) => setTimeout(r, 8_000)); // scenario time: the replica stays frozen 8 s
    victim.kill("SIGCONT");
    const thawedAt = Date.now();
    const outcomes = await running;
    console.log(report("products replica frozen 8 s", outcomes, { "recovered after ms": recoveryMs(outcomes, thawedAt) }));
    expect(dishonest(outcomes)).toEqual([]);
    await assertExact(productId, 100, outcomes);
  }, 120_000);

  test("PostgreSQL restarted under load: no 500, no orphaned reservation, each e-mail once", async () => {
    const productId = await product(1000);
    const startedAt = Date.now();
    const stopLoad = () => Date.now() - startedAt > 6_000;
    const running = Promise.all([
      load(6, (i) => checkout(productId, i), { until: stopLoad }),
      load(6, () => read(productId), { until: stopLoad }),
    ]);
    await new Promise((r) => setTimeout(r, 2_000)); // scenario time: 2 s of load before the restart
    await postgres.restart("fast");
    const backAt = Date.now();
    const outcomes = (await running).flat();
    console.log(report("PostgreSQL restart", outcomes, { "recovered after ms": recoveryMs(outcomes, backAt) }));
    expect(dishonest(outcomes)).toEqual([]);
    const orders = await assertExact(productId, 1000, outcomes);
    await assertMailedOnce(orders.map((o) => o.id));
  }, 120_000);

  test("PostgreSQL down for 10 s under load: 503/504 with Retry-After, then back; exact stock, each e-mail once", async () => {
    await underDatabaseOutage("PostgreSQL down 10 s", async () => {
      await postgres.stop("fast");
      await new Promise((r) => setTimeout(r, 10_000)); // scenario time: PostgreSQL stays down 10 s
      await postgres.start();
    });
  }, 150_000);

  test("PostgreSQL frozen 12 s under load (SIGSTOP: connections open, no answer): 503/504 with Retry-After, then back", async () => {
    const outcomes = await underDatabaseOutage("PostgreSQL frozen 12 s", async () => {
      postgres.freeze();
      try {
        await new Promise((r) => setTimeout(r, 12_000)); // scenario time: frozen 12 s, longer than a request may take
      } finally {
        postgres.thaw();
      }
    });
    // No request outlives its timeout (REQUEST_TIMEOUT_MS, 10 s), retries included: reads once took 12 s and more.
    expect(Math.max(...outcomes.map((o) => o.ms))).toBeLessThan(11_500);
  }, 150_000);
});
