/**
 * Migrations own the schema on both databases: up creates it, status reports it, down
 * removes it, up again restores it; the constraints are real (stock and price never < 0).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { Sequelize } from "sequelize";
import { describeWithServers } from "../support/servers.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { loadConfig, type Config } from "../../lib/config.ts";
import { migrateUp, migrateDown, migrationStatus } from "../../integrations/database/migrator.ts";
import { createSequelize } from "../../integrations/database/sequelize.ts";

async function tables(sequelize: Sequelize): Promise<string[]> {
  return ((await sequelize.getQueryInterface().showAllTables()) as string[]).sort();
}

function exercise(label: string, database: () => Config["database"]) {
  test(`${label}: up, status, constraints, down, up again`, async () => {
    const db = database();
    const applied = await migrateUp(db);
    expect(applied).toEqual(expect.arrayContaining(["20261128-0001-products", "20261128-0002-users"]));
    expect(await migrateUp(db)).toEqual([]); // idempotent
    const status = await migrationStatus(db);
    expect(status.pending).toEqual([]);
    expect(status.executed).toEqual(applied);

    const sequelize = createSequelize(db);
    try {
      expect(await tables(sequelize)).toEqual(
        expect.arrayContaining(["products", "schema_migrations", "users", "user_sessions", "refresh_tokens", "user_tokens", "api_clients"]),
      );
      expect(await tables(sequelize)).toEqual(
        expect.arrayContaining(["sms_codes", "user_identities", "oidc_flows"]), // 20261204-0011, -0012
      );
      const insert = (sku: string, stock: number, price: number) =>
        sequelize.query(
          `INSERT INTO products (id, sku, name, description, "priceCents", currency, stock, active, "createdAt", "updatedAt")
           VALUES ('${randomUUID()}', '${sku}', 'n', '', ${price}, 'EUR', ${stock}, true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`,
        );
      // The driver's own message names the constraint that stopped the row.
      const failure = (p: Promise<unknown>) =>
        p.then(
          () => "no error",
          (e) => String(e.parent?.message ?? e.message),
        );
      await insert("OK-1", 1, 1);
      expect(await failure(insert("NEG-STOCK", -1, 1))).toMatch(/check constraint.*products_stock_non_negative/i);
      expect(await failure(insert("NEG-PRICE", 1, -1))).toMatch(/check constraint.*products_price_non_negative/i);
      expect(await failure(insert("OK-1", 1, 1))).toMatch(/unique/i);
      // The reconciliation scan's index (20261129-0009) replaced the one on status alone.
      const indexes = ((await sequelize.getQueryInterface().showIndex("stock_reservations")) as { name: string }[]).map((i) => i.name);
      expect(indexes).toContain("stock_reservations_status_created");
      expect(indexes).not.toContain("stock_reservations_status");
      // One shop account per provider account (20261204-0012).
      const identity = (userId: string) =>
        sequelize.query(
          `INSERT INTO user_identities (id, "userId", provider, subject, "createdAt", "updatedAt")
           VALUES ('${randomUUID()}', '${userId}', 'idp', 'sub-1', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`,
        );
      await identity(randomUUID());
      expect(await failure(identity(randomUUID()))).toMatch(/unique/i);
      // A sent message's delivery record keeps no payload (20261205-0013); on SQLite, where the column is changed by
      // copying the table, its primary key and status index survive.
      const delivery = (id: string, payload: string) =>
        sequelize.query(
          `INSERT INTO mail_deliveries (id, event, status, attempts, payload, "createdAt", "updatedAt")
           VALUES ('${id}', 'order.created', 'sent', 1, ${payload}, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`,
        );
      await delivery("m-1", "NULL");
      await delivery("m-2", `'{"order":{}}'`);
      expect(await failure(delivery("m-1", "NULL"))).toMatch(/unique|duplicate/i);
      const mailIndexes = ((await sequelize.getQueryInterface().showIndex("mail_deliveries")) as { name: string }[]).map((i) => i.name);
      expect(mailIndexes).toContain("mail_deliveries_status");

      const reverted = await migrateDown(db, 0);
      expect(reverted).toEqual([...applied].reverse());
      expect(await tables(sequelize)).not.toContain("products");
      expect(await migrateUp(db)).toEqual(applied);
      expect(await tables(sequelize)).toContain("products");
    } finally {
      await sequelize.close();
    }
  });
}

describe("migrations on SQLite (the embedded default)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shop-migrations-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  exercise("sqlite", () => loadConfig({ SQLITE_PATH: path.join(dir, "nested", "shop.sqlite") }).database);
});

const pgSuite = await describeWithServers("postgres");
pgSuite("migrations on PostgreSQL", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase("migrations");
  });
  afterAll(async () => {
    await db?.drop();
  });
  exercise("postgres", () => loadConfig({ DATABASE_URL: db.url }).database);

  test("concurrent migrators take turns (advisory lock): each migration applied once", async () => {
    const other = await createTestDatabase("migrations_race");
    try {
      const cfg = loadConfig({ DATABASE_URL: other.url }).database;
      const results = await Promise.all([migrateUp(cfg), migrateUp(cfg), migrateUp(cfg)]);
      const all = (await migrationStatus(cfg)).executed;
      expect(all.length).toBeGreaterThanOrEqual(2);
      expect(results.flat().sort()).toEqual([...all].sort());
    } finally {
      await other.drop();
    }
  });
});
