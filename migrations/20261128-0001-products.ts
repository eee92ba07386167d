import { DataTypes, Op } from "sequelize";
import type { MigrationContext } from "../integrations/database/migrator.ts";

export async function up({ context: qi }: MigrationContext) {
  await qi.createTable("products", {
    id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    sku: { type: DataTypes.STRING(64), allowNull: false, unique: true },
    name: { type: DataTypes.STRING(200), allowNull: false },
    description: { type: DataTypes.TEXT, allowNull: false, defaultValue: "" },
    priceCents: { type: DataTypes.INTEGER, allowNull: false },
    currency: { type: DataTypes.STRING(3), allowNull: false },
    stock: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    active: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: true },
    createdAt: { type: DataTypes.DATE, allowNull: false },
    updatedAt: { type: DataTypes.DATE, allowNull: false },
  });
  // Backstops for the rules the service enforces: no negative stock, no negative price.
  await qi.addConstraint("products", {
    type: "check",
    fields: ["stock"],
    where: { stock: { [Op.gte]: 0 } },
    name: "products_stock_non_negative",
  });
  await qi.addConstraint("products", {
    type: "check",
    fields: ["priceCents"],
    where: { priceCents: { [Op.gte]: 0 } },
    name: "products_price_non_negative",
  });
  await qi.addIndex("products", ["createdAt"], { name: "products_created_at" });
  await qi.addIndex("products", ["priceCents"], { name: "products_price_cents" });
}

export async function down({ context: qi }: MigrationContext) {
  await qi.dropTable("products");
}
