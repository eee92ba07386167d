import { DataTypes, type QueryInterface } from "sequelize";
import type { MigrationContext } from "../integrations/database/migrator.ts";

/**
 * The delivery log keeps a message's `payload` only while it may be needed to retry it (a failed
 * or dead-lettered message: GET /api/mail/failed and its retry): a sent message's row keeps its
 * id and status (the exactly-once record) without the whole order as JSON, which every
 * confirmation used to write. So `payload` may be NULL.
 */
export async function up({ context: qi }: MigrationContext) {
  await setPayloadNullable(qi, true);
}

export async function down({ context: qi }: MigrationContext) {
  // Rows written without a payload (sent ones) get an empty object back: nothing retries a sent message.
  await qi.sequelize.query(`UPDATE mail_deliveries SET payload = '{}' WHERE payload IS NULL`);
  await setPayloadNullable(qi, false);
}

/** Sequelize changes a column on SQLite by copying the table, which leaves its indexes behind: add the one back. */
async function setPayloadNullable(qi: QueryInterface, allowNull: boolean) {
  await qi.changeColumn("mail_deliveries", "payload", { type: DataTypes.JSON, allowNull });
  if (qi.sequelize.getDialect() === "sqlite")
    await qi.sequelize.query(`CREATE INDEX IF NOT EXISTS mail_deliveries_status ON mail_deliveries (status, "updatedAt")`);
}
