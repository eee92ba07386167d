/**
 * mail with a real SMTP server (smtp-server, parsed with mailparser), RabbitMQ for durable
 * delivery and PostgreSQL: the e-mails of the user and order flows, exactly-once handling of
 * redelivered messages, a poison message ending in the dead-letter queue, and a rolled-back
 * change announcing nothing (the outbox row goes with it). RabbitMQ unreachable at checkout:
 * mail-outage.test.ts.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { jest } from "@jest/globals";
import { describeWithServers } from "../support/servers.ts";
import { startTestShop, type TestNode } from "../support/node.ts";
import { shopClient } from "../support/shop-client.ts";
import { startSmtp, type TestSmtp } from "../support/smtp.ts";
import { DurableEvents, shopConsumerGroups } from "../../integrations/messaging/durable-events.ts";
import type { Outbox } from "../../integrations/messaging/outbox.ts";
import { until } from "../../scripts/support/until.ts";

const suite = await describeWithServers("postgres", "rabbitmq");
const AMQP = process.env.TEST_AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672";

suite("mail", () => {
  const namespace = `mail-${randomBytes(4).toString("hex")}`;
  let node: TestNode;
  let smtp: TestSmtp;
  let events: DurableEvents;
  let admin: string;
  const shop = shopClient(() => node);
  const { http, as } = shop;
  /** The delivery log's row for a message, as stored. */
  const deliveryRow = async (id: string) => {
    const mail = node.broker.getLocalService("mail") as unknown as {
      adapter: { model: { findByPk(id: string, o: { raw: true }): Promise<{ status: string; payload: unknown } | null> } };
    };
    return mail.adapter.model.findByPk(id, { raw: true });
  };

  beforeAll(async () => {
    smtp = await startSmtp();
    node = await startTestShop("mail", {
      TRANSPORTER: AMQP,
      NAMESPACE: namespace,
      SMTP_URL: smtp.url,
      MAIL_MAX_ATTEMPTS: "3",
      MAIL_RETRY_BASE_MS: "100",
      RATE_LIMIT_FACTOR: "100",
      APP_URL: "https://shop.example",
    });
    events = new DurableEvents(AMQP, namespace, { info() {}, warn() {}, error() {} });
    admin = (await shop.superuser()).token;
  });

  afterAll(async () => {
    await node?.stop();
    await events?.deleteTopology(Object.values(shopConsumerGroups(node.config))).catch(() => undefined);
    await events?.close();
    await smtp?.close();
  });

  test("registration sends the welcome e-mail with a working verification link", async () => {
    const { email } = await shop.register("new", { name: "Newcomer <b>" });
    const [mail] = await smtp.waitFor(email);
    expect(mail!.subject).toMatch(/^Welcome to Moleculer Shop/);
    expect(mail!.from?.text).toMatch(/no-reply@/);
    const link = /https:\/\/shop\.example\/verify-email\?token=([\w-]+)/.exec(mail!.text ?? "");
    expect(link).not.toBeNull();
    expect(mail!.html).toContain("Newcomer &lt;b&gt;");
    expect((await http("/auth/verify-email", { method: "POST", json: { token: link![1] } })).status).toBe(200);
  });

  test("an order sends a confirmation with its lines and total; status changes and a cancellation follow", async () => {
    const { email, token } = await shop.shopper("buyer");
    const product = await shop.product(admin);
    const order = (await shop.order(token, product.id, 2)).body;
    const [, confirmation] = await smtp.waitFor(email, 2);
    expect(confirmation!.subject).toBe(`Order ${order.id.slice(0, 8).toUpperCase()} confirmed: €49.98`);
    expect(confirmation!.text).toContain("2 × Copper kettle");
    expect(confirmation!.text).toContain("Total: €49.98");

    await http(`/orders/${order.id}/status`, { method: "PATCH", headers: as(admin), json: { status: "paid" } });
    await http(`/orders/${order.id}/status`, {
      method: "PATCH",
      headers: as(admin),
      json: { status: "cancelled", reason: "warehouse fire" },
    });
    const mails = await smtp.waitFor(email, 4);
    expect(mails.map((m) => m.subject)).toEqual([
      expect.stringMatching(/^Welcome/),
      expect.stringMatching(/confirmed/),
      expect.stringMatching(/is now paid$/),
      expect.stringMatching(/cancelled$/),
    ]);
    // Staff notes are internal: not in the customer's e-mail (nor in their view of the order).
    expect(mails[3]!.text).not.toContain("warehouse fire");
    await new Promise((r) => setTimeout(r, 500)); // a fixed wait on purpose: it proves that no fifth e-mail follows
    expect(smtp.to(email)).toHaveLength(4); // no "is now cancelled" on top of the cancellation
  });

  test("in a cluster a checkout without Idempotency-Key writes its order and its order.created as one statement", async () => {
    const { email, token } = await shop.shopper("one-statement");
    const product = await shop.product(admin);
    const orders = node.broker.getLocalService("orders") as any;
    await orders.outbox.stop(); // no poll in between: every statement seen is the checkout's
    const db = orders.adapter.db;
    const transactions = jest.spyOn(db, "transaction");
    const queries = jest.spyOn(db, "query");
    let placed: any;
    try {
      placed = (await shop.order(token, product.id, 1)).body;
      await smtp.waitFor(email, 2);
      await until("the outbox row's DELETE", () => queries.mock.calls.length >= 2);
      expect(transactions).not.toHaveBeenCalled();
      const statements = queries.mock.calls.map((c) => String(c[0]));
      expect(statements[0]).toMatch(/^WITH change AS \(INSERT INTO orders[\s\S]*\) INSERT INTO "orders_outbox"/);
      // Then, once RabbitMQ confirmed it, the outbox row goes.
      expect(statements.slice(1)).toEqual([expect.stringMatching(/^DELETE FROM "orders_outbox"/)]);
    } finally {
      transactions.mockRestore();
      queries.mockRestore();
      orders.outbox.start();
    }
    expect(smtp.to(email).at(-1)!.subject).toContain(placed.id.slice(0, 8).toUpperCase());
  });

  test("a checkout rolled back at its deadline announces nothing; the next one is confirmed", async () => {
    const { email, token } = await shop.shopper("rollback");
    const product = await shop.product(admin);
    const orders = node.broker.getLocalService("orders") as unknown as { settings: { saveDeadlineMs: number } };
    const deadline = orders.settings.saveDeadlineMs;
    orders.settings.saveDeadlineMs = -1; // the order row and its outbox row are written, then rolled back
    try {
      expect(await shop.order(token, product.id, 1)).toMatchObject({ status: 503, body: { type: "CHECKOUT_TOO_SLOW" } });
    } finally {
      orders.settings.saveDeadlineMs = deadline;
    }
    const placed = (await shop.order(token, product.id, 2)).body;
    // The outbox relays in order: had the first been announced, its e-mail would come first.
    const mails = await smtp.waitFor(email, 2);
    expect(mails.map((m) => m.subject)).toEqual([expect.stringMatching(/^Welcome/), expect.stringMatching(/confirmed: €49.98$/)]);
    expect(mails[1]!.subject).toContain(placed.id.slice(0, 8).toUpperCase());
  });

  test("a redelivered message is not sent twice", async () => {
    const email = `twice-${randomUUID().slice(0, 6)}@example.com`;
    const payload = { user: { id: randomUUID(), email, name: "Twice" }, at: new Date().toISOString() };
    const messageId = `user.password-changed:${randomUUID()}`;
    await events.publish("user.password-changed", payload, messageId);
    await events.publish("user.password-changed", payload, messageId);
    await smtp.waitFor(email);
    await new Promise((r) => setTimeout(r, 800)); // a fixed wait on purpose: it proves that the redelivery sends nothing
    expect(smtp.to(email)).toHaveLength(1);
    // The sent record keeps no payload: only a failed or dead message may need it again.
    expect(await deliveryRow(messageId)).toMatchObject({ status: "sent", payload: null });
  });

  test("an outbox row published twice (its publish after the commit racing the poll) yields one e-mail", async () => {
    const email = `race-${randomUUID().slice(0, 6)}@example.com`;
    const payload = { user: { id: randomUUID(), email, name: "Race" }, at: new Date().toISOString() };
    const orders = node.broker.getLocalService("orders") as unknown as { outbox: Outbox; durable: DurableEvents };
    const row = await orders.outbox.add({ event: "user.password-changed", payload, messageId: `user.password-changed:${randomUUID()}` });
    const publish = jest.spyOn(orders.durable, "publish");
    try {
      // Both hold the row and publish it before either deletes it: what a slow publish and a poll can do.
      expect(await Promise.all([orders.outbox.publishRows([row]), orders.outbox.publishRows([row])])).toEqual([1, 1]);
      expect(publish.mock.calls.filter((c) => c[2] === row.messageId)).toHaveLength(2);
    } finally {
      publish.mockRestore();
    }
    await smtp.waitFor(email);
    await new Promise((r) => setTimeout(r, 800)); // a fixed wait on purpose: it proves that the repeat sends nothing
    expect(smtp.to(email)).toHaveLength(1);
    expect(await orders.outbox.pending()).toBe(0);
  });

  test("a poison message is retried, then dead-lettered; admins see it and can retry it", async () => {
    const email = `poison-${randomUUID().slice(0, 6)}@example.com`;
    smtp.reject.add(email);
    const messageId = `user.2fa-enabled:${randomUUID()}`;
    await events.publish(
      "user.2fa-enabled",
      { user: { id: randomUUID(), email, name: "Poison" }, at: new Date().toISOString() },
      messageId,
    );

    let failed: any;
    const listed = async () => {
      failed = (await http("/mail/failed", { headers: as(admin) })).body;
      return failed.rows.some((r: any) => r.id === messageId);
    };
    await until("the message among the failed ones", listed, { timeoutMs: 15_000, intervalMs: 200 });
    const row = failed.rows.find((r: any) => r.id === messageId);
    expect(row).toMatchObject({
      status: "dead",
      attempts: 3,
      recipient: email,
      lastError: expect.stringMatching(/550|Mailbox unavailable/),
    });
    expect(JSON.stringify(failed)).not.toMatch(/payload/);
    expect(await deliveryRow(messageId)).toMatchObject({ status: "dead", payload: { user: { email } } });
    expect((await events.depth("mail")).dead).toBeGreaterThanOrEqual(1);

    // Not for shoppers; and once the mailbox works, a retry delivers it.
    expect((await http("/mail/failed")).status).toBe(401);
    smtp.reject.delete(email);
    const retried = await http(`/mail/failed/${encodeURIComponent(messageId)}/retry`, { method: "POST", headers: as(admin) });
    expect(retried).toMatchObject({ status: 202, body: { status: "queued" } });
    expect((await smtp.waitFor(email))[0]!.subject).toBe("Two-factor authentication is on");
    await until("the retried message recorded as sent, without its payload", async () => {
      const row = await deliveryRow(messageId);
      return row?.status === "sent" && row.payload === null;
    });
    expect((await http(`/mail/failed/${encodeURIComponent(messageId)}/retry`, { method: "POST", headers: as(admin) })).status).toBe(409);
    expect((await http(`/mail/failed/nope/retry`, { method: "POST", headers: as(admin) })).status).toBe(404);
  });
});
