import { DataTypes } from "sequelize";
import type { MigrationContext } from "../integrations/database/migrator.ts";

/**
 * The products service's ledger of stock held for orders: one row per order (its id is the
 * order's id), written in the same transaction as the stock decrement. Reserving twice for
 * one order is impossible (primary key), and releasing flips `status` with a compare-and-set,
 * so stock comes back exactly once. Reconciliation: every "reserved" row has an order.
 */
export async function up({ context: qi }: MigrationContext) {
  await qi.createTable("stock_reservations", {
    id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    items: { type: DataTypes.JSON, allowNull: false },
    status: { type: DataTypes.STRING(16), allowNull: false, defaultValue: "reserved" },
    createdAt: { type: DataTypes.DATE, allowNull: false },
    updatedAt: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex("stock_reservations", ["status"], { name: "stock_reservations_status" });
}

export async function down({ context: qi }: MigrationContext) {
  await qi.dropTable("stock_reservations");
}
