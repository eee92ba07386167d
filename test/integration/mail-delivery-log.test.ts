/**
 * The mail delivery log's batched statements on PostgreSQL and SQLite: claims asked for in one
 * tick are one INSERT (each answered for itself: new, logged before, or the same id twice), sent
 * marks of a few milliseconds one UPDATE; a message alone still runs its own statement.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { jest } from "@jest/globals";
import type { Sequelize } from "sequelize";
import { loadConfig } from "../../lib/config.ts";
import { migrateUp } from "../../integrations/database/migrator.ts";
import { createSequelize } from "../../integrations/database/sequelize.ts";
import { deliveryLog } from "../../services/mail/delivery-log.ts";
import { describeWithServers } from "../support/servers.ts";
import { createTestDatabase } from "../support/database.ts";

const claim = (id: string) => ({
  id,
  event: "order.created",
  template: "order-confirmation",
  recipient: "ann@example.com",
  subject: "Order",
  owner: "mail-1:test",
});

/** The tests on the database `open` makes (its settings, and how to remove it), migrated. */
function behaves(open: () => Promise<{ env: Record<string, string>; remove: () => Promise<void> }>) {
  let db: Sequelize;
  let remove: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const made = await open();
    remove = made.remove;
    const database = loadConfig(made.env).database;
    await migrateUp(database);
    db = createSequelize(database);
  }, 60_000);
  afterAll(async () => {
    await db?.close();
    await remove?.();
  });

  const rows = async () =>
    Object.fromEntries(
      ((await db.query(`SELECT id, status, attempts FROM mail_deliveries ORDER BY id`, { type: "SELECT" })) as any[]).map((r) => [
        r.id,
        `${r.status}/${r.attempts}`,
      ]),
    );

  test("claims in one tick are one INSERT, each answered for itself; sent marks are one UPDATE", async () => {
    const log = deliveryLog(db);
    expect(await log.claim(claim("m0"))).toBe(true); // alone: its own statement
    const statements = jest.spyOn(db, "query");
    try {
      const claimed = await Promise.all(["m1", "m2", "m0", "m3", "m3"].map((id) => log.claim(claim(id))));
      expect(claimed).toEqual([true, true, false, true, false]);
      expect(statements).toHaveBeenCalledTimes(1);
      statements.mockClear();
      // Sent marks asked for a moment apart (sends end at different times) still go together.
      const marks: Promise<void>[] = [];
      for (const id of ["m1", "m2", "m3"]) {
        marks.push(log.markSent(id));
        await new Promise((r) => setImmediate(r));
      }
      await Promise.all(marks);
      expect(statements).toHaveBeenCalledTimes(1);
    } finally {
      statements.mockRestore();
    }
    expect(await rows()).toEqual({ m0: "sending/1", m1: "sent/1", m2: "sent/1", m3: "sent/1" });
  });
}

describe("mail delivery log on SQLite", () => {
  behaves(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "delivery-log-"));
    return { env: { SQLITE_PATH: path.join(dir, "shop.sqlite") }, remove: async () => fs.rmSync(dir, { recursive: true, force: true }) };
  });
});

const pgSuite = await describeWithServers("postgres");
pgSuite("mail delivery log on PostgreSQL", () => {
  behaves(async () => {
    const scratch = await createTestDatabase("delivery_log");
    return { env: { DATABASE_URL: scratch.url }, remove: () => scratch.drop() };
  });
});
