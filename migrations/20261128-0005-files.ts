import { DataTypes, Op } from "sequelize";
import type { MigrationContext } from "../integrations/database/migrator.ts";

/**
 * The storage service's table: metadata of uploaded files. The content lives in the object
 * store under `key` (server-generated, unique). `size` and `sha256` are null while a direct
 * (presigned) upload or a streamed one is still pending.
 */
export async function up({ context: qi }: MigrationContext) {
  await qi.createTable("files", {
    id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    ownerId: { type: DataTypes.UUID, allowNull: false },
    filename: { type: DataTypes.STRING(255), allowNull: false },
    contentType: { type: DataTypes.STRING(255), allowNull: false },
    size: { type: DataTypes.BIGINT, allowNull: true },
    sha256: { type: DataTypes.STRING(64), allowNull: true },
    key: { type: DataTypes.STRING(512), allowNull: false, unique: true },
    status: { type: DataTypes.STRING(16), allowNull: false },
    createdAt: { type: DataTypes.DATE, allowNull: false },
    updatedAt: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addConstraint("files", {
    type: "check",
    fields: ["status"],
    where: { status: { [Op.in]: ["pending", "ready"] } },
    name: "files_status_known",
  });
  await qi.addConstraint("files", {
    type: "check",
    fields: ["size"],
    where: { [Op.or]: [{ size: null }, { size: { [Op.gte]: 0 } }] },
    name: "files_size_non_negative",
  });
  // Listing one owner's files, newest first; the sweeper's look for old pending files.
  await qi.addIndex("files", ["ownerId", "createdAt"], { name: "files_owner_created" });
  await qi.addIndex("files", ["status", "updatedAt"], { name: "files_status_updated" });
  await qi.addIndex("files", ["createdAt"], { name: "files_created_at" });
}

export async function down({ context: qi }: MigrationContext) {
  await qi.dropTable("files");
}
