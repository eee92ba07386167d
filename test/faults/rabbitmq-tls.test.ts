/**
 * The shop over amqps:// (how CloudAMQP and Amazon MQ are reached): a private RabbitMQ node with
 * a TLS listener whose certificate a CA of the test's own signed, a gateway node and a products
 * node as real processes trusting that CA (NODE_EXTRA_CA_CERTS, as deployment/README.md says for
 * a private CA), and TRANSPORTER an amqps:// URL. Every connection the nodes open (the Moleculer
 * transporter and the durable events) is TLS, and a request crosses it. A node that does not
 * trust the CA refuses the server's certificate and never connects in clear instead.
 */
import { randomBytes } from "node:crypto";
import { describeWithServers } from "../support/servers.ts";
import { createRabbitNodes, rabbitmqAvailable, type RabbitCluster } from "../support/rabbitmq.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { http } from "../support/node.ts";
import { localClusterEnv, spawnCaptured, exited, type CapturedNode } from "../../scripts/support/cluster.ts";
import { freePort } from "../../scripts/support/free-port.ts";
import { until } from "../../scripts/support/until.ts";
import { loadConfig } from "../../lib/config.ts";
import { migrateUp } from "../../integrations/database/migrator.ts";

const servers = await describeWithServers("postgres");
if (!rabbitmqAvailable() && process.env.REQUIRE_SERVICES === "1")
  throw new Error("REQUIRE_SERVICES=1 and private RabbitMQ nodes cannot be started here");
const suite = rabbitmqAvailable() ? servers : describe.skip;

suite("the shop over amqps:// (TLS to RabbitMQ)", () => {
  let rabbit: RabbitCluster;
  let db: TestDatabase;
  const nodes: CapturedNode[] = [];

  afterAll(async () => {
    for (const { child } of nodes) child.kill("SIGTERM");
    await Promise.all(nodes.map(({ child }) => exited(child)));
    await rabbit?.destroy();
    await db?.drop();
  }, 60_000);

  afterEach(() => {
    const state = expect.getState();
    if (state.assertionCalls !== state.numPassingAsserts) for (const { output } of nodes) console.log(output.join("").slice(-3000));
  });

  test("nodes that trust the CA talk over TLS only: a request crosses, every connection is TLS", async () => {
    rabbit = await createRabbitNodes(1, "tls", { tls: true });
    const broker = rabbit.nodes[0]!;
    await rabbit.start(broker);
    db = await createTestDatabase("amqps");
    await migrateUp(loadConfig({ DATABASE_URL: db.url }).database);
    const port = await freePort();
    const env = localClusterEnv(
      { namespace: `tls-${randomBytes(4).toString("hex")}`, transporter: broker.tlsUrl!, databaseUrl: db.url },
      { PORT: String(port), HOST: "127.0.0.1", NODE_EXTRA_CA_CERTS: broker.caFile! },
    );
    for (const spec of [
      { id: "api-1", services: "api" },
      { id: "products-1", services: "products" },
    ]) {
      nodes.push(spawnCaptured(spec, env));
    }
    const api = `http://127.0.0.1:${port}/api`;
    await until("the products routes through the gateway", async () => (await http(`${api}/products`)).status === 200, {
      timeoutMs: 60_000,
    });
    expect((await http(`${api}/products?search=mug`)).body).toMatchObject({ rows: [], total: 0 });

    // Who is connected, and how: the transporter of each node and the products node's durable consumer.
    const out = await rabbit.ctl(broker, "list_connections", "name", "ssl", "--formatter", "json", "--quiet");
    const connections = JSON.parse(out.slice(out.indexOf("["))) as { name: string; ssl: boolean }[];
    expect(connections.length).toBeGreaterThanOrEqual(3);
    expect(connections.filter((c) => !c.ssl)).toEqual([]);
  }, 180_000);

  test("a node that does not trust the CA refuses the certificate (it does not fall back to clear text)", async () => {
    const broker = rabbit.nodes[0]!;
    const port = await freePort();
    const env = localClusterEnv(
      { namespace: `tls-untrusted-${randomBytes(4).toString("hex")}`, transporter: broker.tlsUrl!, databaseUrl: db.url },
      { PORT: String(port), HOST: "127.0.0.1", NODE_EXTRA_CA_CERTS: "" },
    );
    const untrusted = spawnCaptured({ id: "api-untrusted", services: "api" }, env);
    nodes.push(untrusted);
    await until(
      "the node to report the refused certificate",
      () => /self-signed|unable to (verify|get local issuer)|certificate/i.test(untrusted.output.join("")),
      {
        timeoutMs: 30_000,
      },
    );
    const out = await rabbit.ctl(broker, "list_connections", "name", "--formatter", "json", "--quiet");
    expect(out).not.toContain("api-untrusted");
  }, 60_000);
});
