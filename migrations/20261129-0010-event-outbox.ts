import { DataTypes, type QueryInterface } from "sequelize";
import type { MigrationContext } from "../integrations/database/migrator.ts";

/**
 * Transactional outboxes (integrations/messaging/outbox.ts): the durable events of users and orders are written
 * in the same transaction as the change they announce, and a relay publishes them to RabbitMQ
 * afterwards, deleting each row once RabbitMQ has confirmed it. One table per producing
 * service (each service owns its tables). Rows live for seconds, or for as long as RabbitMQ
 * is unreachable; no unique key on messageId: a second row with the same id is a duplicate
 * the consumer already recognises, never a reason to fail the change.
 */
const TABLES = ["users_outbox", "orders_outbox"];

async function createOutbox(qi: QueryInterface, table: string) {
  await qi.createTable(table, {
    // SQLite allows AUTOINCREMENT only on INTEGER PRIMARY KEY (which is 64-bit there).
    id: {
      type: qi.sequelize.getDialect() === "sqlite" ? DataTypes.INTEGER : DataTypes.BIGINT,
      primaryKey: true,
      autoIncrement: true,
      allowNull: false,
    },
    messageId: { type: DataTypes.STRING(200), allowNull: false },
    event: { type: DataTypes.STRING(64), allowNull: false },
    payload: { type: DataTypes.JSON, allowNull: false },
    requestId: { type: DataTypes.STRING(128), allowNull: true },
    createdAt: { type: DataTypes.DATE, allowNull: false },
  });
}

export async function up({ context: qi }: MigrationContext) {
  for (const table of TABLES) await createOutbox(qi, table);
}

export async function down({ context: qi }: MigrationContext) {
  for (const table of TABLES) await qi.dropTable(table);
}
