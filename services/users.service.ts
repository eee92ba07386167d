/**
 * users: accounts, authentication (Basic, JWT + rotating refresh tokens, OAuth 2.0 token
 * endpoint, TOTP and SMS two-factor, OpenID Connect sign-in) and user administration. The actions live in services/users/
 * by audience; this file assembles the service.
 */
import type { ServiceSchema } from "moleculer";
import { DataTypes, type Model } from "sequelize";
import { getConfig } from "../lib/config.ts";
import { DbMixin } from "../mixins/db.mixin.ts";
import { DurableEventsMixin } from "../mixins/durable-events.mixin.ts";
import { connectCounterStore, createKeySet, createLimiter, verifyAgainstDummy } from "../integrations/authentication/index.ts";
import { defineUserModels } from "./users/models.ts";
import {
  methods,
  KNOWN_ADDRESS_TTL_SEC,
  type Limiters,
  type UserRow,
  type UsersMethods,
  type UsersSettings,
  type UsersVars,
  type UserView,
} from "./users/methods.ts";
import { authActions } from "./users/auth.actions.ts";
import { accountActions } from "./users/account.actions.ts";
import { adminActions } from "./users/admin.actions.ts";
import { avatarActions, onAvatarFileRemoved } from "./users/avatar.actions.ts";
import { smsActions } from "./users/sms.actions.ts";
import { oidcActions } from "./users/oidc.actions.ts";

const cfg = getConfig();

const UsersService: ServiceSchema<UsersSettings, UsersMethods, UsersVars> = {
  name: "users",
  mixins: [
    DurableEventsMixin,
    DbMixin<UserView>({
      table: "users",
      attributes: {
        email: { type: DataTypes.STRING(254), allowNull: false, unique: true },
        name: { type: DataTypes.STRING(100), allowNull: false },
        passwordHash: { type: DataTypes.STRING(255), allowNull: false },
        role: { type: DataTypes.STRING(16), allowNull: false, defaultValue: "user" },
        active: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: true },
        emailVerified: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
        totpSecret: { type: DataTypes.TEXT },
        totpEnabled: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
        totpLastStep: { type: DataTypes.BIGINT },
        recoveryCodes: { type: DataTypes.TEXT },
        smsPhone: { type: DataTypes.STRING(16) },
        avatarFileId: { type: DataTypes.UUID },
      },
      publicFields: ["id", "email", "name", "role", "active", "emailVerified", "totpEnabled", "avatarFileId", "createdAt", "updatedAt"],
      sortable: ["email", "name", "role", "createdAt", "updatedAt"],
      defaultSort: "-createdAt",
      searchable: ["email", "name"],
    }),
  ],

  settings: { rest: "/", outboxTable: "users_outbox" },

  actions: { ...authActions, ...accountActions, ...adminActions, ...avatarActions, ...smsActions, ...oidcActions },

  // Avatars: a removed file is cleared (one replica handles each event).
  events: {
    "files.removed": onAvatarFileRemoved,
  },

  methods: {
    ...methods,
    /** Every user that leaves the service (lists, updates) has the same public shape. */
    toPublic(row: Model | UserRow) {
      return this.userView(row);
    },
  },

  async started() {
    this.models = defineUserModels(this.adapter.db);
    this.redis = cfg.auth.rateLimitRedis ? await connectCounterStore(cfg.auth.rateLimitRedis, this.logger) : null;
    const redis = this.redis ?? undefined;
    const n = (points: number) => points * cfg.auth.rateLimitFactor;
    // Per IP and per account; counters live in Redis when configured, so every replica shares them.
    // A known client of an account (device token, or an address it signed in from) has a budget
    // of its own instead of the address's and the account's (methods.signInAttempt).
    const limits: Limiters = {
      loginIp: createLimiter(`${cfg.namespace}:login-ip`, { points: n(30), durationSec: 60 }, redis),
      loginAccount: createLimiter(`${cfg.namespace}:login-account`, { points: n(10), durationSec: 15 * 60 }, redis),
      basicIp: createLimiter(`${cfg.namespace}:basic-ip`, { points: n(120), durationSec: 60 }, redis),
      basicAccount: createLimiter(`${cfg.namespace}:basic-account`, { points: n(10), durationSec: 15 * 60 }, redis),
      knownClient: createLimiter(`${cfg.namespace}:known-client`, { points: n(10), durationSec: 15 * 60 }, redis),
      secondFactor: createLimiter(`${cfg.namespace}:second-factor`, { points: n(5), durationSec: 5 * 60 }, redis),
      tokenIp: createLimiter(`${cfg.namespace}:token-ip`, { points: n(60), durationSec: 60 }, redis),
      forgotIp: createLimiter(`${cfg.namespace}:forgot-ip`, { points: n(20), durationSec: 60 * 60 }, redis),
      forgotAccount: createLimiter(`${cfg.namespace}:forgot-account`, { points: n(3), durationSec: 60 * 60 }, redis),
      registerIp: createLimiter(`${cfg.namespace}:register-ip`, { points: n(20), durationSec: 60 * 60 }, redis),
    };
    this.limits = limits;
    this.knownAddresses = createKeySet(`${cfg.namespace}:known-address`, KNOWN_ADDRESS_TTL_SEC, redis);
    this.pendingWork = new Set();
    // The dummy hash is made on first use: make it now, so the first unknown-e-mail login
    // costs what every other failed login costs.
    await verifyAgainstDummy("warm-up");
  },

  async stopped() {
    await Promise.allSettled(this.pendingWork ?? []);
    this.redis?.disconnect();
  },
};

export default UsersService;
