/**
 * A mail node in a cluster works on many confirmations at once (MAIL_CONCURRENCY, its prefetch on
 * the durable queue): while a slow mail server holds the first messages, the rest are taken from
 * RabbitMQ and claimed in the delivery log instead of waiting in the queue, and each is still sent
 * once, also when the node is stopped with them claimed. With a prefetch of 10 the mail node kept
 * up with 0.4-0.6x the checkouts of a busy cluster (docs/benchmarks.md, cut 21): its throughput
 * was messages in flight / time per message.
 */
import { randomUUID } from "node:crypto";
import { Client } from "pg";
import { describeWithServers } from "../support/servers.ts";
import { startTestNode, startTestShop, type TestNode } from "../support/node.ts";
import { startSmtp, type TestSmtp } from "../support/smtp.ts";
import { DurableEvents, deleteShopTopology } from "../../integrations/messaging/durable-events.ts";
import { until } from "../../scripts/support/until.ts";

const suite = await describeWithServers("postgres", "rabbitmq");
const AMQP = process.env.TEST_AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672";
const MESSAGES = 40;

suite("mail concurrency", () => {
  const namespace = `mail-conc-${randomUUID().slice(0, 8)}`;
  let node: TestNode & { databaseUrl: string };
  /** The node that replaced the first one (second test). */
  let next: TestNode | undefined;
  let smtp: TestSmtp;
  let events: DurableEvents;
  let pg: Client;

  beforeAll(async () => {
    // Each message takes the server a second; 20 connections, so all 40 are sent within ~2 s.
    smtp = await startSmtp({ acceptAfterMs: 1000 });
    node = await startTestShop("mail_concurrency", { TRANSPORTER: AMQP, NAMESPACE: namespace, SMTP_URL: `${smtp.url}?maxConnections=20` });
    events = new DurableEvents(AMQP, namespace, { info() {}, warn() {}, error() {} });
    pg = new Client({ connectionString: node.databaseUrl });
    await pg.connect();
  });

  afterAll(async () => {
    await pg?.end();
    await next?.stop();
    await node?.stop();
    if (node) await deleteShopTopology(AMQP, namespace, node.config).catch(() => undefined);
    await events?.close();
    await smtp?.close();
  });

  /** Publishes MESSAGES e-mails to one new address and waits until the mail node has claimed them all. */
  const claimMany = async (label: string) => {
    const email = `${label}-${randomUUID().slice(0, 6)}@example.com`;
    const payload = { user: { id: randomUUID(), email, name: label }, at: new Date().toISOString() };
    for (let i = 0; i < MESSAGES; i++) await events.publish("user.password-changed", payload, `user.password-changed:${randomUUID()}`);
    const statuses = async () =>
      (await pg.query(`SELECT status FROM mail_deliveries WHERE recipient = $1`, [email])).rows.map((r) => r.status as string);
    await until(`${MESSAGES} messages claimed`, async () => (await statuses()).length === MESSAGES, { intervalMs: 20, timeoutMs: 10_000 });
    return { email, statuses };
  };

  test("takes every queued message at once while the mail server is slow, and sends each once", async () => {
    const { email, statuses } = await claimMany("many");
    // Claimed before the server accepted the first: none waited in the queue for another's send.
    expect(smtp.to(email)).toHaveLength(0);

    await smtp.waitFor(email, MESSAGES, 20_000);
    await until("every message recorded as sent", async () => (await statuses()).every((s) => s === "sent"), { timeoutMs: 10_000 });
    expect(smtp.to(email)).toHaveLength(MESSAGES);
  });

  test("a node stopped with claimed messages: the next node sends each of them once", async () => {
    const { email, statuses } = await claimMany("stopped");
    // Half are with the mail server, half wait for a connection; the stop fails those (not sent).
    await node.broker.stop();
    expect(smtp.to(email).length).toBeLessThan(MESSAGES);
    expect(await statuses()).not.toContain("sending");

    next = await startTestNode({ DATABASE_URL: node.databaseUrl });
    await smtp.waitFor(email, MESSAGES, 20_000);
    await until("every message recorded as sent", async () => (await statuses()).every((s) => s === "sent"), { timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 500)); // a fixed wait on purpose: it proves that no duplicate follows
    expect(smtp.to(email)).toHaveLength(MESSAGES);
  });
});
