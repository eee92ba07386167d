/** A PostgreSQL database of its own for each suite, dropped afterwards. */
import { randomBytes } from "node:crypto";
import { createScratchDatabase, type ScratchDatabase } from "../../scripts/support/scratch-database.ts";

export const PG_ADMIN_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

export type TestDatabase = ScratchDatabase;

export function createTestDatabase(label: string): Promise<TestDatabase> {
  return createScratchDatabase(PG_ADMIN_URL, `shop_test_${label.replace(/\W/g, "_")}_${randomBytes(4).toString("hex")}`.toLowerCase());
}
