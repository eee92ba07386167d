import { DataTypes } from "sequelize";
import type { MigrationContext } from "../integrations/database/migrator.ts";

/**
 * The mail service's delivery log: one row per message id (the durable event's id), so a
 * redelivered event is recognised and not sent twice, and dead letters can be listed and retried.
 */
export async function up({ context: qi }: MigrationContext) {
  await qi.createTable("mail_deliveries", {
    id: { type: DataTypes.STRING(200), primaryKey: true, allowNull: false },
    event: { type: DataTypes.STRING(64), allowNull: false },
    template: { type: DataTypes.STRING(64), allowNull: true },
    recipient: { type: DataTypes.STRING(254), allowNull: true },
    subject: { type: DataTypes.STRING(255), allowNull: true },
    status: { type: DataTypes.STRING(16), allowNull: false },
    attempts: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    lastError: { type: DataTypes.TEXT, allowNull: true },
    payload: { type: DataTypes.JSON, allowNull: false },
    sentAt: { type: DataTypes.DATE, allowNull: true },
    createdAt: { type: DataTypes.DATE, allowNull: false },
    updatedAt: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex("mail_deliveries", ["status", "updatedAt"], { name: "mail_deliveries_status" });
}

export async function down({ context: qi }: MigrationContext) {
  await qi.dropTable("mail_deliveries");
}
