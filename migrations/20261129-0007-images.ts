import { DataTypes, type QueryInterface } from "sequelize";
import type { MigrationContext } from "../integrations/database/migrator.ts";

/**
 * Product images and avatars (domain/images.ts):
 *  - files.public: anyone may download the file, without credentials, while something links it;
 *  - file_links: who links which file (`product:<id>`, `avatar:<userId>`), the storage service's
 *    own record, so a file shown in two places stays public until the last one lets go;
 *  - products.images: the ordered ids of a product's pictures (a JSON array);
 *  - users.avatarFileId: the user's picture.
 * No foreign keys across services' tables (as everywhere): the services keep them in step
 * through `files.removed` and the storage service's link/unlink actions.
 */
export async function up({ context: qi }: MigrationContext) {
  await qi.addColumn("files", "public", { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false });
  await qi.createTable("file_links", {
    fileId: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    holder: { type: DataTypes.STRING(100), primaryKey: true, allowNull: false },
    createdAt: { type: DataTypes.DATE, allowNull: false },
    updatedAt: { type: DataTypes.DATE, allowNull: false },
  });
  // Releasing everything a product or user holds (the product or the account is deleted).
  await qi.addIndex("file_links", ["holder"], { name: "file_links_holder" });

  await qi.addColumn("products", "images", { type: DataTypes.JSON, allowNull: false, defaultValue: [] });

  await qi.addColumn("users", "avatarFileId", { type: DataTypes.UUID, allowNull: true });
  // Detaching a removed file: `WHERE "avatarFileId" = ?`.
  await qi.addIndex("users", ["avatarFileId"], { name: "users_avatar_file" });
}

export async function down({ context: qi }: MigrationContext) {
  await qi.removeIndex("users", "users_avatar_file");
  await dropColumn(qi, "users", "avatarFileId");
  await dropColumn(qi, "products", "images");
  await qi.dropTable("file_links");
  await dropColumn(qi, "files", "public");
}

/**
 * Sequelize's removeColumn on SQLite copies the table without its CHECK constraints and
 * indexes; SQLite (3.35+) drops a plain column in place.
 */
async function dropColumn(qi: QueryInterface, table: string, column: string) {
  if (qi.sequelize.getDialect() === "sqlite") await qi.sequelize.query(`ALTER TABLE "${table}" DROP COLUMN "${column}"`);
  else await qi.removeColumn(table, column);
}
