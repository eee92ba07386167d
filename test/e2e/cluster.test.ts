/**
 * The cluster as real processes: a gateway node and two products nodes (scripts/support/cluster.ts),
 * discovering each other over RabbitMQ, on PostgreSQL. Driven over HTTP like a client;
 * seeded through a client broker on the same transporter (writes need an admin, and the
 * gateway has no back door). Own namespace and database, so runs never meet.
 */
import { freePort } from "../../scripts/support/free-port.ts";
import { randomBytes, randomUUID } from "node:crypto";
import { ServiceBroker } from "moleculer";
import { describeWithServers } from "../support/servers.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { http } from "../support/node.ts";
import { LOCAL_CLUSTER, localClusterEnv, spawnCaptured, exited, type CapturedNode } from "../../scripts/support/cluster.ts";
import { loadConfig } from "../../lib/config.ts";
import { migrateUp } from "../../integrations/database/migrator.ts";
import { amqpTransporter } from "../../moleculer.config.ts";
import { startSmtp, type TestSmtp } from "../support/smtp.ts";
import { deleteShopTopology } from "../../integrations/messaging/durable-events.ts";
import { until } from "../../scripts/support/until.ts";
import { HELD_RESERVATION_STATUSES } from "../../domain/reconciliation.ts";

const suite = await describeWithServers("postgres", "rabbitmq", "redis");
const AMQP = process.env.TEST_AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672";
const admin = { meta: { user: { id: randomUUID(), role: "admin" } } };

suite("a multi-node cluster over RabbitMQ", () => {
  const namespace = `e2e-${randomBytes(4).toString("hex")}`;
  let db: TestDatabase;
  let api: string;
  let client: ServiceBroker;
  let smtp: TestSmtp;
  let env: NodeJS.ProcessEnv;
  const nodes = new Map<string, CapturedNode>();

  function start(spec: (typeof LOCAL_CLUSTER)[number]) {
    const node = spawnCaptured(spec, env);
    nodes.set(spec.id, node);
    return node.child;
  }

  beforeAll(async () => {
    db = await createTestDatabase("e2e");
    await migrateUp(loadConfig({ DATABASE_URL: db.url }).database);
    const port = await freePort();
    api = `http://127.0.0.1:${port}/api`;
    smtp = await startSmtp();
    env = localClusterEnv(
      { namespace, transporter: AMQP, databaseUrl: db.url },
      { RATE_LIMIT_STORE: "redis://127.0.0.1:6379", RATE_LIMIT_FACTOR: "100", SMTP_URL: smtp.url, MAIL_RETRY_BASE_MS: "200", PORT: String(port), HOST: "127.0.0.1" },
    );
    for (const spec of LOCAL_CLUSTER) start(spec);
    client = new ServiceBroker({ namespace, nodeID: `e2e-client-${process.pid}`, transporter: amqpTransporter(AMQP, 100), logger: false });
    await client.start();
    await until("every service to be ready", async () => (await http(`${api}/health/ready`)).body?.status === "ok", { timeoutMs: 30_000 });
    await client.waitForServices(["products", "users", "orders", "mail"], 30_000);
  }, 60_000);

  afterAll(async () => {
    await client?.stop();
    for (const { child } of nodes.values()) child.kill("SIGTERM");
    await Promise.all([...nodes.values()].map(({ child }) => exited(child)));
    await deleteShopTopology(AMQP, namespace, loadConfig(env)).catch(() => undefined);
    await smtp?.close();
    await db?.drop();
  }, 30_000);

  afterEach(() => {
    // On failure, the nodes' own words are the first thing to read.
    const state = expect.getState();
    if (state.assertionCalls !== state.numPassingAsserts) {
      for (const [id, { output }] of nodes) console.log(`--- ${id}\n${output.join("").slice(-4000)}`);
    }
  });

  test("the gateway serves products from the other nodes", async () => {
    const p = await client.call<any, any>("products.create", { sku: "E2E-1", name: "Remote mug", priceCents: 1200, currency: "EUR", stock: 4 }, admin);
    const one = await http(`${api}/products/${p.id}`);
    expect(one).toMatchObject({ status: 200, body: { id: p.id, name: "Remote mug" } });
    const list = await http(`${api}/products?search=remote`);
    expect(list.body).toMatchObject({ total: 1, rows: [{ sku: "E2E-1" }] });
  });

  test("users on their own node: register, sign in, Bearer and Basic across nodes", async () => {
    const email = `e2e-${randomBytes(4).toString("hex")}@example.com`;
    const password = "correct horse battery staple";
    expect((await http(`${api}/auth/register`, { method: "POST", json: { email, password, name: "E2E" } })).status).toBe(201);
    const login = await http(`${api}/auth/login`, { method: "POST", json: { email, password } });
    expect(login.status).toBe(200);
    const me = await http(`${api}/users/me`, { headers: { authorization: `Bearer ${login.body.accessToken}` } });
    expect(me).toMatchObject({ status: 200, body: { email } });
    const viaBasic = await http(`${api}/users/me`, { headers: { authorization: `Basic ${Buffer.from(`${email}:${password}`).toString("base64")}` } });
    expect(viaBasic).toMatchObject({ status: 200, body: { email } });
    const refreshed = await http(`${api}/auth/refresh`, { method: "POST", json: { refreshToken: login.body.refreshToken } });
    expect(refreshed.status).toBe(200);
  });

  test("200 simultaneous checkouts for 50 units: exactly 50 sold, stock 0, every loser a clean 409", async () => {
    // Two orders nodes and two products nodes share the load (round robin).
    const nodesOf = (name: string) =>
      (client.registry.getServiceList({ onlyAvailable: true }) as { name: string; nodeID: string }[]).filter((s) => s.name === name).map((s) => s.nodeID).sort();
    expect(nodesOf("orders")).toEqual(["orders-1", "orders-2"]);
    expect(nodesOf("products")).toEqual(["products-1", "products-2"]);
    const product = await client.call<any, any>("products.create", { sku: `RUSH-${randomBytes(3).toString("hex")}`, name: "Limited edition", priceCents: 4999, currency: "EUR", stock: 50 }, admin);
    const password = "correct horse battery staple";
    const tokens = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const email = `rush-${i}-${randomBytes(4).toString("hex")}@example.com`;
        await http(`${api}/auth/register`, { method: "POST", json: { email, password, name: `Buyer ${i}` } });
        return (await http(`${api}/auth/login`, { method: "POST", json: { email, password } })).body.accessToken as string;
      }),
    );
    const shippingAddress = { name: "Buyer", line1: "1 Main St", city: "Berlin", postalCode: "10115", country: "DE" };
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        http(`${api}/orders`, {
          method: "POST",
          headers: { authorization: `Bearer ${tokens[i % tokens.length]}` },
          json: { items: [{ productId: product.id, quantity: 1 }], shippingAddress },
        }),
      ),
    );
    const byStatus = results.reduce<Record<number, number>>((acc, r) => ({ ...acc, [r.status]: (acc[r.status] ?? 0) + 1 }), {});
    if (byStatus[201] !== 50) console.log(JSON.stringify(results.filter((r) => r.status >= 500).slice(0, 5).map((r) => r.body)));
    expect(byStatus).toEqual({ 201: 50, 409: 150 });
    for (const r of results.filter((x) => x.status === 409)) expect(r.body).toMatchObject({ type: "INSUFFICIENT_STOCK", data: { productIds: [product.id] } });

    // The database agrees: stock 0, 50 orders, and each held reservation is one of those orders.
    const pg = (await import("pg")).default;
    const sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    try {
      const stock = (await sql.query("SELECT stock FROM products WHERE id = $1", [product.id])).rows[0].stock;
      expect(stock).toBe(0);
      const orders = (await sql.query(`SELECT id FROM orders WHERE items::text LIKE '%' || $1 || '%'`, [product.id])).rows.map((r) => r.id).sort();
      const held = (await sql.query(`SELECT id FROM stock_reservations WHERE status = ANY($2) AND items::text LIKE '%' || $1 || '%'`, [product.id, [...HELD_RESERVATION_STATUSES]])).rows.map((r) => r.id).sort();
      expect(orders).toHaveLength(50);
      expect(held).toEqual(orders);
      expect(orders.sort()).toEqual(results.filter((r) => r.status === 201).map((r) => r.body.id).sort());
    } finally {
      await sql.end();
    }
  }, 60_000);

  test("the order confirmation arrives exactly once, even though the mail node was down", async () => {
    const mailNode = nodes.get("mail-1")!;
    mailNode.child.kill("SIGTERM");
    expect(await exited(mailNode.child)).toBe(0);

    const email = `offline-${randomBytes(4).toString("hex")}@example.com`;
    const password = "correct horse battery staple";
    await http(`${api}/auth/register`, { method: "POST", json: { email, password, name: "Patient" } });
    const token = (await http(`${api}/auth/login`, { method: "POST", json: { email, password } })).body.accessToken;
    const product = await client.call<any, any>("products.create", { sku: `MAIL-${randomBytes(3).toString("hex")}`, name: "Postcard", priceCents: 150, currency: "EUR", stock: 9 }, admin);
    const order = await http(`${api}/orders`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
      json: { items: [{ productId: product.id, quantity: 3 }], shippingAddress: { name: "P", line1: "1 Rue", city: "Lyon", postalCode: "69001", country: "FR" } },
    });
    expect(order.status).toBe(201);
    await new Promise((r) => setTimeout(r, 1000));
    expect(smtp.to(email)).toHaveLength(0); // nobody to send it yet

    start(LOCAL_CLUSTER.find((n) => n.id === "mail-1")!);
    const mails = await smtp.waitFor(email, 2, 30_000);
    await new Promise((r) => setTimeout(r, 1500));
    const subjects = smtp.to(email).map((m) => m.subject).sort();
    expect(subjects).toEqual([`Order ${order.body.id.slice(0, 8).toUpperCase()} confirmed: €4.50`, expect.stringMatching(/^Welcome/)].sort());
    expect(mails.length).toBe(2);
  }, 60_000);

  test("a removed account's files are deleted by the storage node, even though it was down", async () => {
    const email = `leaving-${randomBytes(4).toString("hex")}@example.com`;
    const password = "correct horse battery staple";
    const user = (await http(`${api}/auth/register`, { method: "POST", json: { email, password, name: "Leaving" } })).body;
    const token = (await http(`${api}/auth/login`, { method: "POST", json: { email, password } })).body.accessToken;
    const form = new FormData();
    form.append("file", new Blob(["my private notes"], { type: "text/plain" }), "notes.txt");
    const file = await http(`${api}/files`, { method: "POST", headers: { authorization: `Bearer ${token}` }, body: form });
    expect(file.status).toBe(201);

    const storageNode = nodes.get("storage-1")!;
    storageNode.child.kill("SIGTERM");
    expect(await exited(storageNode.child)).toBe(0);
    await client.call("users.remove", { id: user.id }, { meta: { user: { id: randomUUID(), role: "superuser" } } });

    const pg = (await import("pg")).default;
    const sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    try {
      const filesOf = async () => (await sql.query(`SELECT id FROM files WHERE "ownerId" = $1`, [user.id])).rows.map((r) => r.id);
      await new Promise((r) => setTimeout(r, 500));
      expect(await filesOf()).toEqual([file.body.id]); // nobody to delete it yet
      start(LOCAL_CLUSTER.find((n) => n.id === "storage-1")!);
      await until("the file to be deleted", async () => (await filesOf()).length === 0, { timeoutMs: 30_000 });
    } finally {
      await sql.end();
    }
    await until("every service to be ready again", async () => (await http(`${api}/health/ready`)).body?.status === "ok", { timeoutMs: 30_000 });
    expect((await http(`${api}/files/${file.body.id}`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401); // the account is gone
  }, 60_000);

  test("access declarations travel with remote actions: a write without credentials is a 401", async () => {
    const res = await http(`${api}/products`, { method: "POST", json: { sku: "X", name: "x", priceCents: 1, currency: "EUR" } });
    expect(res.status).toBe(401);
    const bad = await http(`${api}/products?page=abc`);
    expect(bad.status).toBe(422);
  });

  test("a change on one replica cleans the cached reads of every replica", async () => {
    const p = await client.call<any, any>("products.create", { sku: "E2E-CACHE", name: "v1", priceCents: 100, currency: "EUR" }, admin);
    // Round robin: several reads fill the cache of both replicas.
    for (let i = 0; i < 6; i++) expect((await http(`${api}/products/${p.id}`)).body.name).toBe("v1");
    await client.call("products.update", { id: p.id, name: "v2" }, admin);
    await new Promise((r) => setTimeout(r, 100)); // the broadcast crosses RabbitMQ
    for (let i = 0; i < 6; i++) expect((await http(`${api}/products/${p.id}`)).body.name).toBe("v2");
  });

  test("stopping one products replica while requests flow loses no request", async () => {
    const p = await client.call<any, any>("products.create", { sku: "E2E-FLOW", name: "steady", priceCents: 100, currency: "EUR" }, admin);
    const statuses: number[] = [];
    let stopAfter = 0;
    const victim = nodes.get("products-2")!;
    const deadline = Date.now() + 4000;
    // 8 clients in parallel, each reading in a loop (uncached: distinct pages) for 4 s.
    const workers = Array.from({ length: 8 }, async (_, w) => {
      for (let i = 0; Date.now() < deadline; i++) {
        const res = await http(`${api}/products?page=${1 + ((w * 1000 + i) % 5000)}&search=steady`);
        statuses.push(res.status);
        if (res.status !== 200) console.log("failed request:", res.status, res.body);
      }
    });
    setTimeout(() => {
      stopAfter = statuses.length;
      victim.child.kill("SIGTERM");
    }, 1000);
    await Promise.all(workers);
    expect(stopAfter).toBeGreaterThan(10);
    expect(statuses.length - stopAfter).toBeGreaterThan(10);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(await exited(victim.child)).toBe(0);
    // The remaining replica carries on; the cluster is still ready.
    expect((await http(`${api}/products/${p.id}`)).status).toBe(200);
    expect((await http(`${api}/health/ready`)).status).toBe(200);
  }, 30_000);
});
