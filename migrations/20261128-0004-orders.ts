import { DataTypes } from "sequelize";
import type { MigrationContext } from "../integrations/database/migrator.ts";

/**
 * The orders service's tables. No foreign keys into other services' tables: items carry
 * snapshots of the products as they were sold. Idempotency keys are per user.
 */
export async function up({ context: qi }: MigrationContext) {
  await qi.createTable("orders", {
    id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    userId: { type: DataTypes.UUID, allowNull: false },
    status: { type: DataTypes.STRING(16), allowNull: false },
    items: { type: DataTypes.JSON, allowNull: false },
    totalCents: { type: DataTypes.BIGINT, allowNull: false },
    currency: { type: DataTypes.STRING(3), allowNull: false },
    shippingAddress: { type: DataTypes.JSON, allowNull: false },
    statusHistory: { type: DataTypes.JSON, allowNull: false },
    idempotencyKey: { type: DataTypes.STRING(255), allowNull: true },
    createdAt: { type: DataTypes.DATE, allowNull: false },
    updatedAt: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex("orders", ["userId", "createdAt"], { name: "orders_user_created" });
  await qi.addIndex("orders", ["status"], { name: "orders_status" });
  await qi.addIndex("orders", ["createdAt"], { name: "orders_created_at" });

  await qi.createTable("order_idempotency_keys", {
    id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    userId: { type: DataTypes.UUID, allowNull: false },
    key: { type: DataTypes.STRING(255), allowNull: false },
    fingerprint: { type: DataTypes.STRING(64), allowNull: false },
    state: { type: DataTypes.STRING(16), allowNull: false },
    orderId: { type: DataTypes.UUID, allowNull: true },
    expiresAt: { type: DataTypes.DATE, allowNull: false },
    createdAt: { type: DataTypes.DATE, allowNull: false },
    updatedAt: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex("order_idempotency_keys", ["userId", "key"], { name: "order_idempotency_user_key", unique: true });
}

export async function down({ context: qi }: MigrationContext) {
  await qi.dropTable("order_idempotency_keys");
  await qi.dropTable("orders");
}
