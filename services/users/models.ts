/**
 * The users service's tables besides `users` (which the db mixin owns): sign-in sessions,
 * their rotating refresh tokens, single-use tokens and API clients. Defined on the service's
 * own Sequelize connection once it is connected; the schema itself is the migration's.
 */
import { DataTypes, type Model, type ModelStatic, type Sequelize } from "sequelize";

export interface UserModels {
  sessions: ModelStatic<Model>;
  refreshTokens: ModelStatic<Model>;
  userTokens: ModelStatic<Model>;
  clients: ModelStatic<Model>;
}

const id = { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 };

const options = (tableName: string) => ({ tableName, timestamps: true, freezeTableName: true });

export function defineUserModels(db: Sequelize): UserModels {
  return {
    sessions: db.define(
      "user_sessions",
      {
        id,
        userId: { type: DataTypes.UUID, allowNull: false },
        revokedAt: { type: DataTypes.DATE },
        expiresAt: { type: DataTypes.DATE, allowNull: false },
        ip: { type: DataTypes.STRING(64) },
        userAgent: { type: DataTypes.STRING(255) },
      },
      options("user_sessions"),
    ),
    refreshTokens: db.define(
      "refresh_tokens",
      {
        id,
        sessionId: { type: DataTypes.UUID, allowNull: false },
        tokenHash: { type: DataTypes.STRING(64), allowNull: false },
        expiresAt: { type: DataTypes.DATE, allowNull: false },
        rotatedAt: { type: DataTypes.DATE },
      },
      options("refresh_tokens"),
    ),
    userTokens: db.define(
      "user_tokens",
      {
        id,
        userId: { type: DataTypes.UUID, allowNull: false },
        purpose: { type: DataTypes.STRING(32), allowNull: false },
        tokenHash: { type: DataTypes.STRING(64), allowNull: false },
        expiresAt: { type: DataTypes.DATE, allowNull: false },
        usedAt: { type: DataTypes.DATE },
      },
      options("user_tokens"),
    ),
    clients: db.define(
      "api_clients",
      {
        id,
        name: { type: DataTypes.STRING(100), allowNull: false },
        clientId: { type: DataTypes.STRING(64), allowNull: false },
        secretHash: { type: DataTypes.STRING(64), allowNull: false },
        role: { type: DataTypes.STRING(16), allowNull: false },
        active: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: true },
        createdBy: { type: DataTypes.UUID, allowNull: false },
        lastUsedAt: { type: DataTypes.DATE },
      },
      options("api_clients"),
    ),
  };
}
