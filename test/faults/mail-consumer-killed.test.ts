/**
 * A mail node killed (SIGKILL) while it holds claimed confirmations, some of them on their way
 * to a slow mail server: RabbitMQ hands them to the other mail replica at once, which defers them
 * while its registry still lists the dead node, then takes them over and sends each once. Before,
 * a redelivered message whose row said `sending` was a failed attempt, so within seconds every
 * message the dead node held was dead-lettered, unsent, waiting for an admin's retry.
 */
import { randomUUID } from "node:crypto";
import amqp from "amqplib";
import { Client } from "pg";
import { describeWithServers } from "../support/servers.ts";
import { startSmtp, type TestSmtp } from "../support/smtp.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { printNodeOutputOnFailure } from "../support/node-output.ts";
import { DurableEvents, deleteShopTopology } from "../../integrations/messaging/durable-events.ts";
import { localClusterEnv, spawnCaptured, exited, type CapturedNode } from "../../scripts/support/cluster.ts";
import { loadConfig } from "../../lib/config.ts";
import { migrateUp } from "../../integrations/database/migrator.ts";
import { until } from "../../scripts/support/until.ts";

const suite = await describeWithServers("postgres", "rabbitmq");
const AMQP = process.env.TEST_AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672";
const MESSAGES = 40;

suite("a mail node killed while it holds messages", () => {
  const namespace = `mail-killed-${randomUUID().slice(0, 8)}`;
  const nodes = new Map<string, CapturedNode>();
  let smtp: TestSmtp;
  let db: TestDatabase;
  let pg: Client;
  let rabbit: amqp.ChannelModel;
  let events: DurableEvents;
  let env: NodeJS.ProcessEnv;

  /** Consumers on the mail queue (a fresh channel each time: a missing queue closes the channel). */
  const consumers = async () => {
    const channel = await rabbit.createChannel();
    channel.on("error", () => undefined);
    try {
      return (await channel.checkQueue(`${namespace}.mail`)).consumerCount;
    } catch {
      return 0;
    } finally {
      await channel.close().catch(() => undefined);
    }
  };

  beforeAll(async () => {
    smtp = await startSmtp({ acceptAfterMs: 1500 });
    db = await createTestDatabase("mail_killed");
    await migrateUp(loadConfig({ DATABASE_URL: db.url }).database);
    pg = new Client({ connectionString: db.url });
    await pg.connect();
    rabbit = await amqp.connect(AMQP);
    // Retries 200 and 400 ms apart: had the redeliveries counted as attempts, they would be dead within a second.
    env = localClusterEnv(
      { namespace, transporter: AMQP, databaseUrl: db.url },
      { SMTP_URL: smtp.url, MAIL_RETRY_BASE_MS: "200", MAIL_MAX_ATTEMPTS: "3", PORT: "0" },
    );
    for (const id of ["mail-1", "mail-2"]) nodes.set(id, spawnCaptured({ id, services: "mail" }, env));
    await until("both mail nodes consuming", async () => (await consumers()) === 2, { timeoutMs: 30_000, intervalMs: 200 });
    events = new DurableEvents(AMQP, namespace, { info() {}, warn() {}, error() {} });
  }, 60_000);

  afterAll(async () => {
    for (const { child } of nodes.values()) child.kill("SIGTERM");
    await Promise.all([...nodes.values()].map(({ child }) => exited(child)));
    if (env) await deleteShopTopology(AMQP, namespace, loadConfig(env)).catch(() => undefined);
    await events?.close();
    await rabbit?.close();
    await pg?.end();
    await db?.drop();
    await smtp?.close();
  }, 30_000);

  printNodeOutputOnFailure(nodes);

  test("the other replica takes them over once the dead node is gone, and sends each once", async () => {
    const email = `killed-${randomUUID().slice(0, 6)}@example.com`;
    const payload = { user: { id: randomUUID(), email, name: "Killed" }, at: new Date().toISOString() };
    for (let i = 0; i < MESSAGES; i++) await events.publish("user.password-changed", payload, `user.password-changed:${randomUUID()}`);
    const rows = async () =>
      (await pg.query(`SELECT id, status, owner FROM mail_deliveries WHERE recipient = $1`, [email])).rows as {
        id: string;
        status: string;
        owner: string;
      }[];
    await until(`${MESSAGES} messages claimed`, async () => (await rows()).length === MESSAGES, { timeoutMs: 15_000, intervalMs: 20 });
    const held = (await rows()).filter((r) => r.owner.startsWith("mail-1:")).map((r) => r.id);
    expect(held.length).toBeGreaterThan(0);
    expect(smtp.to(email)).toHaveLength(0);

    const victim = nodes.get("mail-1")!.child;
    victim.kill("SIGKILL");
    await exited(victim);
    nodes.delete("mail-1");

    await until("every message sent", async () => (await rows()).every((r) => r.status === "sent"), { timeoutMs: 45_000, intervalMs: 200 });
    const after = await rows();
    expect(after.filter((r) => held.includes(r.id)).every((r) => r.owner.startsWith("mail-2:"))).toBe(true);
    // Each message once: the ones the dead node had on their way were never accepted (its connection went with it).
    await smtp.waitFor(email, MESSAGES);
    await new Promise((r) => setTimeout(r, 500)); // a fixed wait on purpose: it proves that no duplicate follows
    const delivered = smtp.to(email).map((m) => m.headers.get("x-shop-delivery"));
    expect(delivered).toHaveLength(MESSAGES);
    expect(new Set(delivered).size).toBe(MESSAGES);
  }, 90_000);
});
