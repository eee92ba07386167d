import { DataTypes } from "sequelize";
import type { MigrationContext } from "../integrations/database/migrator.ts";

/**
 * Which mail consumer is sending a message (`<nodeID>:<instanceID>` of its process), so that a
 * message whose consumer died while it was claimed, or on its way to the mail server, is taken
 * over as soon as that process is known to be gone, instead of after SENDING_TIMEOUT_MS; until
 * then its redeliveries were counted as failed attempts and dead-lettered. NULL for rows written
 * before: those are taken over after the timeout, as before.
 */
export async function up({ context: qi }: MigrationContext) {
  await qi.addColumn("mail_deliveries", "owner", { type: DataTypes.STRING(200), allowNull: true });
}

export async function down({ context: qi }: MigrationContext) {
  await qi.removeColumn("mail_deliveries", "owner");
  // Sequelize removes a column on SQLite by copying the table, which leaves its indexes behind.
  if (qi.sequelize.getDialect() === "sqlite")
    await qi.sequelize.query(`CREATE INDEX IF NOT EXISTS mail_deliveries_status ON mail_deliveries (status, "updatedAt")`);
}
