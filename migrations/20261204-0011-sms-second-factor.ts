import { DataTypes } from "sequelize";
import type { MigrationContext } from "../integrations/database/migrator.ts";

/**
 * SMS as a second factor: the account's verified number (E.164; null while SMS is off), and
 * the codes sent by SMS, one row per message. A code is stored only as an HMAC bound to its
 * row (integrations/authentication/one-time-codes.ts), with its lifetime, the wrong tries
 * spent on it, when it was used, and the provider's message id. The account's rows are removed
 * with it (users.remove); used and expired rows of an account go when it is sent a new code.
 */
export async function up({ context: qi }: MigrationContext) {
  await qi.addColumn("users", "smsPhone", { type: DataTypes.STRING(16), allowNull: true });
  await qi.createTable("sms_codes", {
    id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    userId: { type: DataTypes.UUID, allowNull: false },
    purpose: { type: DataTypes.STRING(16), allowNull: false },
    phoneNumber: { type: DataTypes.STRING(16), allowNull: false },
    codeHash: { type: DataTypes.STRING(64), allowNull: false },
    attempts: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    expiresAt: { type: DataTypes.DATE, allowNull: false },
    usedAt: { type: DataTypes.DATE, allowNull: true },
    messageId: { type: DataTypes.STRING(64), allowNull: true },
    createdAt: { type: DataTypes.DATE, allowNull: false },
    updatedAt: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex("sms_codes", ["userId", "purpose", "createdAt"], { name: "sms_codes_user_purpose" });
}

export async function down({ context: qi }: MigrationContext) {
  await qi.dropTable("sms_codes");
  await qi.removeColumn("users", "smsPhone");
}
