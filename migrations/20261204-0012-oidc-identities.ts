import { DataTypes } from "sequelize";
import type { MigrationContext } from "../integrations/database/migrator.ts";

/**
 * Sign-in with OpenID Connect providers. `user_identities`: which provider account (issuer's
 * `sub`) is which shop account, one row per link, unique per provider and subject.
 * `oidc_flows`: a sign-in between the redirect to the provider and its return, for ten minutes
 * at most: the hash of its `state`, the PKCE verifier and nonce the callback needs, the hash of
 * the cookie that ties it to the browser that started it, and when it was used (once).
 */
export async function up({ context: qi }: MigrationContext) {
  await qi.createTable("user_identities", {
    id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    userId: { type: DataTypes.UUID, allowNull: false },
    provider: { type: DataTypes.STRING(32), allowNull: false },
    subject: { type: DataTypes.STRING(255), allowNull: false },
    email: { type: DataTypes.STRING(254), allowNull: true },
    lastSignInAt: { type: DataTypes.DATE, allowNull: true },
    createdAt: { type: DataTypes.DATE, allowNull: false },
    updatedAt: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex("user_identities", ["provider", "subject"], { name: "user_identities_provider_subject", unique: true });
  await qi.addIndex("user_identities", ["userId"], { name: "user_identities_user" });

  await qi.createTable("oidc_flows", {
    id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    provider: { type: DataTypes.STRING(32), allowNull: false },
    stateHash: { type: DataTypes.STRING(64), allowNull: false, unique: true },
    browserHash: { type: DataTypes.STRING(64), allowNull: false },
    codeVerifier: { type: DataTypes.TEXT, allowNull: false },
    nonce: { type: DataTypes.STRING(128), allowNull: false },
    expiresAt: { type: DataTypes.DATE, allowNull: false },
    usedAt: { type: DataTypes.DATE, allowNull: true },
    createdAt: { type: DataTypes.DATE, allowNull: false },
    updatedAt: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex("oidc_flows", ["expiresAt"], { name: "oidc_flows_expires" });
}

export async function down({ context: qi }: MigrationContext) {
  await qi.dropTable("oidc_flows");
  await qi.dropTable("user_identities");
}
