import { DataTypes } from "sequelize";
import type { MigrationContext } from "../integrations/database/migrator.ts";

/**
 * The users service's tables: accounts, sign-in sessions with their rotating refresh
 * tokens, single-use tokens (e-mail verification, password reset, 2FA login step) and
 * API clients for the OAuth 2.0 client-credentials grant. Secrets are stored only hashed
 * (tokens, client secrets, recovery codes) or sealed (TOTP secrets).
 */
export async function up({ context: qi }: MigrationContext) {
  const timestamps = {
    createdAt: { type: DataTypes.DATE, allowNull: false },
    updatedAt: { type: DataTypes.DATE, allowNull: false },
  };
  await qi.createTable("users", {
    id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    email: { type: DataTypes.STRING(254), allowNull: false, unique: true },
    name: { type: DataTypes.STRING(100), allowNull: false },
    passwordHash: { type: DataTypes.STRING(255), allowNull: false },
    role: { type: DataTypes.STRING(16), allowNull: false, defaultValue: "user" },
    active: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: true },
    emailVerified: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
    totpSecret: { type: DataTypes.TEXT, allowNull: true },
    totpEnabled: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
    totpLastStep: { type: DataTypes.BIGINT, allowNull: true },
    recoveryCodes: { type: DataTypes.TEXT, allowNull: true },
    ...timestamps,
  });
  await qi.addIndex("users", ["role"], { name: "users_role" });
  await qi.addIndex("users", ["createdAt"], { name: "users_created_at" });

  await qi.createTable("user_sessions", {
    id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    userId: { type: DataTypes.UUID, allowNull: false },
    revokedAt: { type: DataTypes.DATE, allowNull: true },
    expiresAt: { type: DataTypes.DATE, allowNull: false },
    ip: { type: DataTypes.STRING(64), allowNull: true },
    userAgent: { type: DataTypes.STRING(255), allowNull: true },
    ...timestamps,
  });
  await qi.addIndex("user_sessions", ["userId"], { name: "user_sessions_user" });

  await qi.createTable("refresh_tokens", {
    id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    sessionId: { type: DataTypes.UUID, allowNull: false },
    tokenHash: { type: DataTypes.STRING(64), allowNull: false, unique: true },
    expiresAt: { type: DataTypes.DATE, allowNull: false },
    rotatedAt: { type: DataTypes.DATE, allowNull: true },
    ...timestamps,
  });
  await qi.addIndex("refresh_tokens", ["sessionId"], { name: "refresh_tokens_session" });

  await qi.createTable("user_tokens", {
    id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    userId: { type: DataTypes.UUID, allowNull: false },
    purpose: { type: DataTypes.STRING(32), allowNull: false },
    tokenHash: { type: DataTypes.STRING(64), allowNull: false, unique: true },
    expiresAt: { type: DataTypes.DATE, allowNull: false },
    usedAt: { type: DataTypes.DATE, allowNull: true },
    ...timestamps,
  });
  await qi.addIndex("user_tokens", ["userId", "purpose"], { name: "user_tokens_user_purpose" });

  await qi.createTable("api_clients", {
    id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    name: { type: DataTypes.STRING(100), allowNull: false },
    clientId: { type: DataTypes.STRING(64), allowNull: false, unique: true },
    secretHash: { type: DataTypes.STRING(64), allowNull: false },
    role: { type: DataTypes.STRING(16), allowNull: false },
    active: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: true },
    createdBy: { type: DataTypes.UUID, allowNull: false },
    lastUsedAt: { type: DataTypes.DATE, allowNull: true },
    ...timestamps,
  });
}

export async function down({ context: qi }: MigrationContext) {
  for (const table of ["api_clients", "user_tokens", "refresh_tokens", "user_sessions", "users"]) await qi.dropTable(table);
}
