/**
 * A node stopped while an e-mail is on its way (embedded mode: in-process delivery, no RabbitMQ):
 * the delivery in progress finishes before the SMTP pool and the database close, so the message
 * is sent once and recorded as sent (the mail server here takes 800 ms to accept a message). One
 * waiting for its next attempt is parked as dead, so it is listed and can be retried.
 */
import { Client } from "pg";
import { startTestNode, type TestNode } from "../support/node.ts";
import { shopClient } from "../support/shop-client.ts";
import { startSmtp, type TestSmtp } from "../support/smtp.ts";
import { describeWithServers } from "../support/servers.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { until } from "../../scripts/support/until.ts";

const suite = await describeWithServers("postgres");

suite("a node stopped while an e-mail is being sent (embedded mode)", () => {
  let db: TestDatabase;
  let smtp: TestSmtp;
  let node: TestNode | undefined;
  const shop = shopClient(() => node!);

  beforeAll(async () => {
    db = await createTestDatabase("mail_stop");
    const { migrateUp } = await import("../../integrations/database/migrator.ts");
    const { loadConfig } = await import("../../lib/config.ts");
    await migrateUp(loadConfig({ DATABASE_URL: db.url }).database);
    smtp = await startSmtp({ acceptAfterMs: 800 });
  });
  beforeEach(async () => {
    node = await startTestNode({ DATABASE_URL: db.url, SERVICES: "all", SMTP_URL: smtp.url, MAIL_RETRY_BASE_MS: "60000" });
  });

  afterAll(async () => {
    await node?.stop();
    await smtp?.close();
    await db?.drop();
  });

  test("finishes the delivery in progress: the message is sent once and recorded as sent", async () => {
    const { email } = await shop.register("stopping");
    const pg = new Client({ connectionString: db.url });
    await pg.connect();
    try {
      const status = async () =>
        (await pg.query(`SELECT status FROM mail_deliveries WHERE recipient = $1`, [email])).rows.map((r) => r.status as string);
      await until("the verification e-mail to be on its way", async () => (await status()).includes("sending"), { intervalMs: 10 });
      expect(smtp.to(email)).toHaveLength(0);
      await node!.stop();
      node = undefined;
      expect(smtp.to(email)).toHaveLength(1);
      expect(await status()).toEqual(["sent"]);
    } finally {
      await pg.end();
    }
  });

  test("a message waiting for its next attempt is parked as dead, not left behind", async () => {
    const email = `refused-${Date.now()}@example.com`;
    smtp.reject.add(email);
    await shop.register("refused", { email });
    const pg = new Client({ connectionString: db.url });
    await pg.connect();
    try {
      const row = async () =>
        (await pg.query(`SELECT status, "lastError" FROM mail_deliveries WHERE recipient = $1`, [email])).rows[0] as
          { status: string; lastError: string } | undefined;
      await until("the first attempt to fail", async () => (await row())?.status === "failed", { intervalMs: 10 });
      const started = Date.now();
      await node!.stop(); // the next attempt is a minute away
      node = undefined;
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(await row()).toMatchObject({ status: "dead", lastError: expect.stringMatching(/the node stopped before attempt 2\)$/) });
    } finally {
      await pg.end();
    }
  });
});
