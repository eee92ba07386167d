/**
 * The tables of the SMS second factor and of OpenID Connect sign-in (migrations 0011, 0012),
 * defined on the users service's own connection the first time an action needs them.
 */
import { DataTypes, type Model, type ModelStatic, type Sequelize, type Transaction } from "sequelize";

export interface SignInModels {
  smsCodes: ModelStatic<Model>;
  identities: ModelStatic<Model>;
  oidcFlows: ModelStatic<Model>;
}

export interface SmsCodeRow {
  id: string;
  userId: string;
  purpose: SmsPurpose;
  phoneNumber: string;
  codeHash: string;
  attempts: number;
  expiresAt: Date;
  usedAt: Date | null;
  messageId: string | null;
  createdAt: Date;
}

/** enrol: confirms a new number; login: the second sign-in step; verify: a signed-in person proves they hold the number. */
export type SmsPurpose = "enrol" | "login" | "verify";

const id = { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 };
const byDb = new WeakMap<Sequelize, SignInModels>();
const options = (tableName: string) => ({ tableName, timestamps: true, freezeTableName: true });

export function signInModels(db: Sequelize): SignInModels {
  let models = byDb.get(db);
  if (models) return models;
  models = {
    smsCodes: db.define(
      "sms_codes",
      {
        id,
        userId: { type: DataTypes.UUID, allowNull: false },
        purpose: { type: DataTypes.STRING(16), allowNull: false },
        phoneNumber: { type: DataTypes.STRING(16), allowNull: false },
        codeHash: { type: DataTypes.STRING(64), allowNull: false },
        attempts: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
        expiresAt: { type: DataTypes.DATE, allowNull: false },
        usedAt: { type: DataTypes.DATE },
        messageId: { type: DataTypes.STRING(64) },
      },
      options("sms_codes"),
    ),
    identities: db.define(
      "user_identities",
      {
        id,
        userId: { type: DataTypes.UUID, allowNull: false },
        provider: { type: DataTypes.STRING(32), allowNull: false },
        subject: { type: DataTypes.STRING(255), allowNull: false },
        email: { type: DataTypes.STRING(254) },
        lastSignInAt: { type: DataTypes.DATE },
      },
      options("user_identities"),
    ),
    oidcFlows: db.define(
      "oidc_flows",
      {
        id,
        provider: { type: DataTypes.STRING(32), allowNull: false },
        stateHash: { type: DataTypes.STRING(64), allowNull: false },
        browserHash: { type: DataTypes.STRING(64), allowNull: false },
        codeVerifier: { type: DataTypes.TEXT, allowNull: false },
        nonce: { type: DataTypes.STRING(128), allowNull: false },
        expiresAt: { type: DataTypes.DATE, allowNull: false },
        usedAt: { type: DataTypes.DATE },
      },
      options("oidc_flows"),
    ),
  };
  byDb.set(db, models);
  return models;
}

/** An account's rows in these tables, when the account is removed (users.remove). */
export async function removeSignInRows(db: Sequelize, userId: string, transaction: Transaction): Promise<void> {
  const { smsCodes, identities } = signInModels(db);
  await smsCodes.destroy({ where: { userId }, transaction });
  await identities.destroy({ where: { userId }, transaction });
}
