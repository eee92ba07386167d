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
import { shopClient, as, PASSWORD } from "../support/shop-client.ts";
import { LOCAL_CLUSTER, localClusterEnv, spawnCaptured, exited, type CapturedNode } from "../../scripts/support/cluster.ts";
import { loadConfig } from "../../lib/config.ts";
import { migrateUp } from "../../integrations/database/migrator.ts";
import { amqpTransporter } from "../../moleculer.config.ts";
import { startSmtp, type TestSmtp } from "../support/smtp.ts";
import { printNodeOutputOnFailure } from "../support/node-output.ts";
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
  const shop = shopClient(() => api);

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
      {
        RATE_LIMIT_STORE: "redis://127.0.0.1:6379",
        RATE_LIMIT_FACTOR: "100",
        SMTP_URL: smtp.url,
        MAIL_RETRY_BASE_MS: "200",
        PORT: String(port),
        HOST: "127.0.0.1",
      },
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

  printNodeOutputOnFailure(nodes, 4000);

  test("the gateway serves products from the other nodes", async () => {
    const p = await client.call<any, any>(
      "products.create",
      { sku: "E2E-1", name: "Remote mug", priceCents: 1200, currency: "EUR", stock: 4 },
      admin,
    );
    const one = await http(`${api}/products/${p.id}`);
    expect(one).toMatchObject({ status: 200, body: { id: p.id, name: "Remote mug" } });
    const list = await http(`${api}/products?search=remote`);
    expect(list.body).toMatchObject({ total: 1, rows: [{ sku: "E2E-1" }] });
  });

  test("users on their own node: register, sign in, Bearer and Basic across nodes", async () => {
    const { email, token, refreshToken } = await shop.shopper("e2e", { name: "E2E" }); // register 201, sign in 200
    const me = await http(`${api}/users/me`, { headers: as(token) });
    expect(me).toMatchObject({ status: 200, body: { email } });
    const basic = { authorization: `Basic ${Buffer.from(`${email}:${PASSWORD}`).toString("base64")}` };
    const viaBasic = await http(`${api}/users/me`, { headers: basic });
    expect(viaBasic).toMatchObject({ status: 200, body: { email } });
    const refreshed = await http(`${api}/auth/refresh`, { method: "POST", json: { refreshToken } });
    expect(refreshed.status).toBe(200);
  });

  test("the gateway keeps principals, yet logout, demotion, deactivation and deletion end a live token within the bound", async () => {
    // The gateway verifies tokens itself and keeps who they belong to for at most PRINCIPAL_TTL_MS (10 s); changes made
    // behind its back (here: through another broker) reach it with the users service's cache.clean.users broadcast.
    const superuser = { meta: { user: { id: randomUUID(), role: "superuser" } } };
    const status = async (token: string, path = "/users/me") => (await http(`${api}${path}`, { headers: as(token) })).status;
    const BOUND_MS = 2000; // the broadcast crosses RabbitMQ in milliseconds; the TTL (10 s) is only the fallback
    const refusedWithin = async (what: string, token: string, path?: string) => {
      const since = Date.now();
      await until(what, async () => (await status(token, path)) === 401, { timeoutMs: BOUND_MS, intervalMs: 20 });
      return Date.now() - since;
    };

    // Logout through the gateway: refused on the very next request.
    const out = await shop.shopper("logout");
    expect(await status(out.token)).toBe(200);
    expect((await http(`${api}/auth/logout`, { method: "POST", headers: as(out.token) })).status).toBe(204);
    expect(await status(out.token)).toBe(401);

    // Demoted behind the gateway's back: the admin's token stops working (a new role ends every session).
    const demoted = await shop.register("demoted");
    await client.call("users.update", { id: demoted.id, role: "admin" }, superuser);
    const { token: adminToken } = await shop.signIn(demoted.email);
    expect(await status(adminToken, "/users")).toBe(200);
    await client.call("users.update", { id: demoted.id, role: "user" }, superuser);
    await refusedWithin("the demoted admin's token refused", adminToken, "/users");

    // Deactivated, and deleted.
    const deactivated = await shop.shopper("deactivated");
    expect(await status(deactivated.token)).toBe(200);
    await client.call("users.update", { id: deactivated.id, active: false }, superuser);
    await refusedWithin("the deactivated account's token refused", deactivated.token);
    const deleted = await shop.shopper("deleted");
    expect(await status(deleted.token)).toBe(200);
    await client.call("users.remove", { id: deleted.id }, superuser);
    await refusedWithin("the deleted account's token refused", deleted.token);
  });

  test("200 simultaneous checkouts for 50 units: exactly 50 sold, stock 0, every loser a clean 409", async () => {
    // Two orders nodes and two products nodes share the load (round robin).
    const nodesOf = (name: string) =>
      (client.registry.getServiceList({ onlyAvailable: true }) as { name: string; nodeID: string }[])
        .filter((s) => s.name === name)
        .map((s) => s.nodeID)
        .sort();
    expect(nodesOf("orders")).toEqual(["orders-1", "orders-2"]);
    expect(nodesOf("products")).toEqual(["products-1", "products-2"]);
    const product = await client.call<any, any>(
      "products.create",
      { sku: `RUSH-${randomBytes(3).toString("hex")}`, name: "Limited edition", priceCents: 4999, currency: "EUR", stock: 50 },
      admin,
    );
    const tokens = (await shop.shoppers(20, "rush")).map((s) => s.token);
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => shop.order(tokens[i % tokens.length]!, product.id, 1)));
    const byStatus = results.reduce<Record<number, number>>((acc, r) => ({ ...acc, [r.status]: (acc[r.status] ?? 0) + 1 }), {});
    if (byStatus[201] !== 50)
      console.log(
        JSON.stringify(
          results
            .filter((r) => r.status >= 500)
            .slice(0, 5)
            .map((r) => r.body),
        ),
      );
    expect(byStatus).toEqual({ 201: 50, 409: 150 });
    for (const r of results.filter((x) => x.status === 409))
      expect(r.body).toMatchObject({ type: "INSUFFICIENT_STOCK", data: { productIds: [product.id] } });

    // The database agrees: stock 0, 50 orders, and each held reservation is one of those orders.
    const pg = (await import("pg")).default;
    const sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    try {
      const stock = (await sql.query("SELECT stock FROM products WHERE id = $1", [product.id])).rows[0].stock;
      expect(stock).toBe(0);
      const orders = (await sql.query(`SELECT id FROM orders WHERE items::text LIKE '%' || $1 || '%'`, [product.id])).rows
        .map((r) => r.id)
        .sort();
      const held = (
        await sql.query(`SELECT id FROM stock_reservations WHERE status = ANY($2) AND items::text LIKE '%' || $1 || '%'`, [
          product.id,
          [...HELD_RESERVATION_STATUSES],
        ])
      ).rows
        .map((r) => r.id)
        .sort();
      expect(orders).toHaveLength(50);
      expect(held).toEqual(orders);
      expect(orders.sort()).toEqual(
        results
          .filter((r) => r.status === 201)
          .map((r) => r.body.id)
          .sort(),
      );
    } finally {
      await sql.end();
    }
  }, 60_000);

  test("the order confirmation arrives exactly once, even though the mail node was down", async () => {
    const mailNode = nodes.get("mail-1")!;
    mailNode.child.kill("SIGTERM");
    expect(await exited(mailNode.child)).toBe(0);

    const { email, token } = await shop.shopper("offline", { name: "Patient" });
    const product = await client.call<any, any>(
      "products.create",
      { sku: `MAIL-${randomBytes(3).toString("hex")}`, name: "Postcard", priceCents: 150, currency: "EUR", stock: 9 },
      admin,
    );
    const order = await shop.order(token, product.id, 3);
    expect(order.status).toBe(201);
    // A fixed wait on purpose: it proves that nothing is sent while no mail node runs.
    await new Promise((r) => setTimeout(r, 1000));
    expect(smtp.to(email)).toHaveLength(0); // nobody to send it yet

    start(LOCAL_CLUSTER.find((n) => n.id === "mail-1")!);
    const mails = await smtp.waitFor(email, 2, 30_000);
    // A fixed wait on purpose: it proves that no duplicate follows within 1.5 s.
    await new Promise((r) => setTimeout(r, 1500));
    const subjects = smtp
      .to(email)
      .map((m) => m.subject)
      .sort();
    expect(subjects).toEqual(
      [`Order ${order.body.id.slice(0, 8).toUpperCase()} confirmed: €4.50`, expect.stringMatching(/^Welcome/)].sort(),
    );
    expect(mails.length).toBe(2);
  }, 60_000);

  test("a removed account's files are deleted by the storage node, even though it was down", async () => {
    const { token, ...user } = await shop.shopper("leaving", { name: "Leaving" });
    const form = new FormData();
    form.append("file", new Blob(["my private notes"], { type: "text/plain" }), "notes.txt");
    const file = await http(`${api}/files`, { method: "POST", headers: as(token), body: form });
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
      // A fixed wait on purpose: it proves that the file stays while no storage node runs.
      await new Promise((r) => setTimeout(r, 500));
      expect(await filesOf()).toEqual([file.body.id]); // nobody to delete it yet
      start(LOCAL_CLUSTER.find((n) => n.id === "storage-1")!);
      await until("the file to be deleted", async () => (await filesOf()).length === 0, { timeoutMs: 30_000 });
    } finally {
      await sql.end();
    }
    await until("every service to be ready again", async () => (await http(`${api}/health/ready`)).body?.status === "ok", {
      timeoutMs: 30_000,
    });
    expect((await http(`${api}/files/${file.body.id}`, { headers: as(token) })).status).toBe(401); // the account is gone
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
    const sixReads = async () => {
      const names: string[] = [];
      for (let i = 0; i < 6; i++) names.push((await http(`${api}/products/${p.id}`)).body.name);
      return names;
    };
    // The cache-clean broadcast crosses RabbitMQ; then every replica answers v2 (round robin: 6 reads reach both).
    const everyReplicaChanged = async () => (await sixReads()).every((n) => n === "v2");
    await until("the change to reach every replica", everyReplicaChanged, { timeoutMs: 5000, intervalMs: 50 });
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
