import { DataTypes, type QueryInterface } from "sequelize";
import type { MigrationContext } from "../integrations/database/migrator.ts";

/**
 * The first response of an idempotent checkout (services/orders/idempotency.ts): its status
 * and body as JSON text, written with the order in one transaction, so a replay returns
 * exactly what the client got first. Nullable: keys completed before this migration have
 * none, and their replays re-read the order (they expire within 24 h).
 */
export async function up({ context: qi }: MigrationContext) {
  await qi.addColumn("order_idempotency_keys", "response", { type: DataTypes.TEXT, allowNull: true });
}

export async function down({ context: qi }: MigrationContext) {
  await dropColumn(qi, "order_idempotency_keys", "response");
}

/**
 * Sequelize's removeColumn on SQLite copies the table without its indexes (here the unique
 * (userId, key) index that makes one concurrent request the owner); SQLite (3.35+) drops a
 * plain column in place. As in 20261129-0007-images.
 */
async function dropColumn(qi: QueryInterface, table: string, column: string) {
  if (qi.sequelize.getDialect() === "sqlite") await qi.sequelize.query(`ALTER TABLE "${table}" DROP COLUMN "${column}"`);
  else await qi.removeColumn(table, column);
}
