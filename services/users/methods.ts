/**
 * What the users service's actions share: account views, sessions and token issuing,
 * single-use tokens, the second factor, and rate limits. Each method does one thing;
 * the rules themselves live in domain/user-rules.ts and integrations/authentication/.
 */
import { Op, type Model, type Transaction } from "sequelize";
import type { Context, Service } from "moleculer";
import type { ShopMeta } from "../../types/moleculer.d.ts";
import type { Redis } from "ioredis";
import { getConfig } from "../../lib/config.ts";
import { tooManyRequests, unauthorized } from "../../lib/errors.ts";
import type { Principal, Role } from "../../lib/access.ts";
import type { DbMethods, DbVars } from "../../mixins/db.mixin.ts";
import type { DurableEventMethods, DurableEventSettings, DurableEventVars } from "../../mixins/durable-events.mixin.ts";
import type { UserModels } from "./models.ts";
import { fileUrl } from "../../domain/images.ts";
import { effectiveClientRole } from "../../domain/user-rules.ts";
import { rateLimitKey } from "../../lib/client-ip.ts";
import {
  signAccessToken,
  jwtKeyId,
  type JwtOptions,
  randomToken,
  hashToken,
  issueDeviceToken,
  readDeviceToken,
  type KeySet,
  verifyTotp,
  openSecret,
  deriveKey,
  normalizeRecoveryCode,
  hashRecoveryCode,
  type Limiter,
} from "../../integrations/authentication/index.ts";

const cfg = getConfig();
/**
 * How this service signs (login, refresh, client credentials) and verifies (`authenticate`,
 * which the gateway calls) access tokens: HS256 with JWT_SECRET, or RS256/ES256 with the
 * private key and its public half, tokens carrying the public key's thumbprint as `kid`.
 */
export const JWT: JwtOptions = {
  algorithm: cfg.jwt.algorithm,
  ...(cfg.jwt.secret !== null ? { secret: cfg.jwt.secret } : {}),
  privateKey: cfg.jwt.privateKey,
  publicKey: cfg.jwt.publicKey,
  keyId: cfg.jwt.publicKey ? jwtKeyId(cfg.jwt.publicKey) : null,
  issuer: cfg.auth.issuer,
  audience: cfg.auth.audience,
  ttlSeconds: cfg.auth.accessTtlSec,
};
/**
 * API client tokens live at most 5 minutes: the role behind them is re-checked on every request
 * anyway (users.principal), and a short life bounds what a leaked one is worth.
 */
export const CLIENT_TOKEN_TTL = Math.min(cfg.auth.accessTtlSec, 300);
/** Seals TOTP secrets at rest. */
export const SECRETS_KEY = deriveKey(cfg.auth.secretsKey, "shop totp secrets v1");
/** Peppers recovery-code hashes (a key of its own: one purpose per key). */
export const RECOVERY_PEPPER = deriveKey(cfg.auth.secretsKey, "shop recovery codes v1");

/** Signs device tokens (a key of its own). */
export const DEVICE_KEY = deriveKey(cfg.auth.secretsKey, "shop device tokens v1");
/** How long a device token, and an address an account signed in from, keep a client known. */
export const DEVICE_TTL_SEC = 90 * 86_400;
export const KNOWN_ADDRESS_TTL_SEC = 14 * 86_400;
/** The cookie a device token travels in (`Path=/api`, HttpOnly, SameSite=Strict). */
export const DEVICE_COOKIE = "shop_device";

export const TOKEN_TTL = { "verify-email": 3 * 86_400, "password-reset": 3600, mfa: 300 } as const;
export type TokenPurpose = keyof typeof TOKEN_TTL;

export interface UserRow {
  id: string;
  email: string;
  name: string;
  passwordHash: string;
  role: Role;
  active: boolean;
  emailVerified: boolean;
  totpSecret: string | null;
  totpEnabled: boolean;
  totpLastStep: string | number | null;
  recoveryCodes: string | null;
  /** The verified number SMS sign-in codes go to (E.164); null: SMS second factor off (users/sms.actions.ts). */
  smsPhone: string | null;
  avatarFileId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** An API client's row (api_clients). */
export interface ClientRow {
  id: string;
  name: string;
  clientId: string;
  secretHash: string;
  role: Role;
  active: boolean;
  createdBy: string;
}

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  tokenType: "Bearer";
  expiresIn: number;
}

/** The one shape of a user that ever leaves the service (userView): no hashes, no secrets. */
export interface UserView {
  id: string;
  email: string;
  name: string;
  role: Role;
  active: boolean;
  emailVerified: boolean;
  twoFactorEnabled: boolean;
  avatarFileId: string | null;
  avatarUrl: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface UsersSettings extends DurableEventSettings {
  rest: string;
}

export type Limiters = Record<
  | "loginIp"
  | "loginAccount"
  | "basicIp"
  | "basicAccount"
  | "knownClient"
  | "secondFactor"
  | "tokenIp"
  | "forgotIp"
  | "forgotAccount"
  | "registerIp",
  Limiter
>;

/** What the service keeps besides its methods (set up when it starts). */
export interface UsersVars extends DbVars, DurableEventVars {
  models: UserModels;
  limits: Limiters;
  /** `<userId>|<address>` of recent successful sign-ins (KNOWN_ADDRESS_TTL_SEC). */
  knownAddresses: KeySet;
  /** Work a request started but does not wait for (stopped() waits for it). */
  pendingWork: Set<Promise<unknown>>;
  redis: Redis | null;
}

export interface UsersMethods extends DbMethods<UserView>, DurableEventMethods {
  userView(row: Model | UserRow): UserView;
  plain(row: Model): UserRow;
  findByEmail(email: string): Promise<Model | null>;
  limit(limiter: Limiter, key: string | undefined): Promise<void>;
  /** Count an attempt against a per-address limiter (an IPv6 address counts by its /64). */
  limitAddress(limiter: Limiter, ip: string | undefined): Promise<void>;
  signInAttempt(
    kind: "login" | "basic",
    email: string,
    user: UserRow | null,
    deviceToken: string | undefined,
    ip: string | undefined,
  ): Promise<string | null>;
  passwordAccepted(kind: "login" | "basic", email: string, known: string | null): Promise<void>;
  signedIn(user: UserRow, ip: string | undefined): Promise<void>;
  deviceCookie(user: UserRow): string;
  inBackground(what: string, work: () => Promise<unknown>): void;
  openSession(ctx: Context<unknown, ShopMeta>, user: UserRow): Promise<TokenPair>;
  rotateRefreshToken(ctx: Context<unknown, ShopMeta>, raw: string): Promise<TokenPair>;
  revokeSessions(userId: string, exceptSessionId?: string, transaction?: Transaction): Promise<number>;
  createUserToken(userId: string, purpose: TokenPurpose, transaction?: Transaction): Promise<string>;
  peekUserToken(raw: string, purpose: TokenPurpose, transaction?: Transaction): Promise<Model | null>;
  consumeUserToken(raw: string, purpose: TokenPurpose, t?: Transaction): Promise<string | null>;
  checkSecondFactor(user: UserRow, code: string): Promise<"totp" | "recovery" | null>;
  activeSuperusers(): Promise<number>;
  /** The role `client` acts with now (at most its creator's), or null while its creator is inactive or gone. */
  clientRole(client: ClientRow): Promise<Role | null>;
}

/** The users service's `this`, in every file of it. */
export type UsersSelf = Service<UsersSettings> & UsersMethods & UsersVars;
type Self = UsersSelf;

export const methods = {
  /** The one shape of a user that ever leaves the service: no hashes, no secrets. */
  userView(this: Self, row: Model | UserRow): UserView {
    const u = typeof (row as Model).get === "function" ? this.plain(row as Model) : (row as UserRow);
    return {
      id: u.id,
      email: u.email,
      name: u.name,
      role: u.role,
      active: u.active,
      emailVerified: u.emailVerified,
      twoFactorEnabled: u.totpEnabled || !!u.smsPhone,
      // The picture: its file id and where anyone can fetch it (users/avatar.actions.ts).
      avatarFileId: u.avatarFileId ?? null,
      avatarUrl: u.avatarFileId ? fileUrl(u.avatarFileId) : null,
      createdAt: u.createdAt,
      updatedAt: u.updatedAt,
    };
  },

  plain(row: Model): UserRow {
    return row.get({ plain: true }) as UserRow;
  },

  findByEmail(this: Self, email: string) {
    return this.adapter.model.findOne({ where: { email: email.trim().toLowerCase() } });
  },

  /** Count an attempt against a limiter; a 429 with Retry-After once it is spent. */
  async limit(limiter: Limiter, key: string | undefined) {
    const verdict = await limiter.consume(key || "unknown");
    if (!verdict.allowed) throw tooManyRequests(verdict.retryAfterSec);
  },

  async limitAddress(this: Self, limiter: Limiter, ip: string | undefined) {
    await this.limit(limiter, rateLimitKey(ip));
  },

  /**
   * Throttling that does not lock owners out (OWASP Authentication Cheat Sheet; its device
   * cookies): which budget a sign-in attempt for `email` counts against, spent before the
   * password is checked. A *known client* of the account (it presents a device token issued to
   * this account, or it is at an address this account signed in from within 14 days) has a
   * budget of its own (`knownClient`, per token or per account and address); returns its key.
   * Anyone else counts against the address's and the account's budgets (null), which strangers
   * can spend: ten wrong passwords lock the account for them, never for its known clients.
   */
  async signInAttempt(
    this: Self,
    kind: "login" | "basic",
    email: string,
    user: UserRow | null,
    deviceToken: string | undefined,
    ip: string | undefined,
  ) {
    const device = readDeviceToken(deviceToken, DEVICE_KEY);
    const address = rateLimitKey(ip);
    // Asked for unknown accounts too, so an unknown e-mail costs what a known one does.
    const atKnownAddress = address ? await this.knownAddresses.has(`${user?.id ?? "-"}|${address}`) : false;
    let known: string | null = null;
    if (user && device?.userId === user.id) known = `device:${device.nonce}`;
    else if (user && atKnownAddress) known = `address:${user.id}|${address}`;
    if (known) {
      await this.limit(this.limits.knownClient, known);
      return known;
    }
    await this.limit(kind === "login" ? this.limits.loginIp : this.limits.basicIp, address);
    await this.limit(kind === "login" ? this.limits.loginAccount : this.limits.basicAccount, email);
    return null;
  },

  /**
   * The right password: a known client's failures are forgotten; a stranger's attempt is given
   * back to the account's budget, so only failures spend it. The budget is not reset: an owner
   * signing in often must not hand a guesser fresh attempts each time.
   */
  async passwordAccepted(this: Self, kind: "login" | "basic", email: string, known: string | null) {
    if (known) await this.limits.knownClient.reset(known);
    else await (kind === "login" ? this.limits.loginAccount : this.limits.basicAccount).reward(email);
  },

  /** Signed in (password and second factor): this address becomes one the account knows. */
  async signedIn(this: Self, user: UserRow, ip: string | undefined) {
    const address = rateLimitKey(ip);
    if (address) await this.knownAddresses.remember(`${user.id}|${address}`);
  },

  /** The Set-Cookie value carrying a new device token for `user`. */
  deviceCookie(user: UserRow) {
    const token = issueDeviceToken(user.id, DEVICE_KEY, DEVICE_TTL_SEC);
    const secure = cfg.appUrl.startsWith("https:") ? "; Secure" : "";
    return `${DEVICE_COOKIE}=${token}; Path=/api; Max-Age=${DEVICE_TTL_SEC}; HttpOnly; SameSite=Strict${secure}`;
  },

  /** Run `work` after the response; failures are logged; the service waits for it when stopping. */
  inBackground(this: Self, what: string, work: () => Promise<unknown>) {
    const running: Promise<unknown> = new Promise<void>((resolve) => setImmediate(resolve))
      .then(work)
      .catch((err: unknown) => this.logger.error(`${what} failed:`, err))
      .finally(() => this.pendingWork.delete(running));
    this.pendingWork.add(running);
  },

  /** A new sign-in session: a short-lived access JWT and an opaque rotating refresh token. */
  async openSession(this: Self, ctx: Context<unknown, ShopMeta>, user: UserRow): Promise<TokenPair> {
    const refreshToken = randomToken();
    const expiresAt = new Date(Date.now() + cfg.auth.refreshTtlSec * 1000);
    const session = await this.models.sessions.create({
      userId: user.id,
      expiresAt,
      ip: ctx.meta.ip?.slice(0, 64) ?? null,
      userAgent: ctx.meta.userAgent?.slice(0, 255) ?? null,
    });
    const sid = session.get("id") as string;
    await this.models.refreshTokens.create({ sessionId: sid, tokenHash: hashToken(refreshToken), expiresAt });
    const { token, expiresIn } = signAccessToken({ sub: user.id, role: user.role, sid }, JWT);
    return { accessToken: token, refreshToken, tokenType: "Bearer", expiresIn };
  },

  /**
   * Refresh-token rotation: a token works once. Presenting an already-rotated token means
   * it was copied: the whole session (every token of its family) is revoked.
   */
  async rotateRefreshToken(this: Self, _ctx: Context<unknown, ShopMeta>, raw: string): Promise<TokenPair> {
    const row = await this.models.refreshTokens.findOne({ where: { tokenHash: hashToken(raw) } });
    if (!row) throw invalid();
    const token = row.get({ plain: true }) as { id: string; sessionId: string; expiresAt: Date; rotatedAt: Date | null };
    const session = await this.models.sessions.findByPk(token.sessionId);
    const s = session?.get({ plain: true }) as { revokedAt: Date | null; userId: string; expiresAt: Date } | undefined;
    if (!s || s.revokedAt || new Date(s.expiresAt) < new Date()) throw invalid();
    // Claim the token atomically: of two concurrent refreshes, exactly one wins.
    const [claimed] = await this.models.refreshTokens.update({ rotatedAt: new Date() }, { where: { id: token.id, rotatedAt: null } });
    if (claimed !== 1) {
      await this.models.sessions.update({ revokedAt: new Date() }, { where: { id: token.sessionId, revokedAt: null } });
      await this.clearCache();
      this.logger.warn(`Refresh token reuse detected; session ${token.sessionId} revoked.`);
      throw invalid();
    }
    if (new Date(token.expiresAt) < new Date()) throw invalid();
    const userRow = await this.adapter.model.findByPk(s.userId);
    const user = userRow ? this.plain(userRow) : null;
    if (!user || !user.active) throw invalid();
    const refreshToken = randomToken();
    await this.models.refreshTokens.create({ sessionId: token.sessionId, tokenHash: hashToken(refreshToken), expiresAt: s.expiresAt });
    const { token: accessToken, expiresIn } = signAccessToken({ sub: user.id, role: user.role, sid: token.sessionId }, JWT);
    return { accessToken, refreshToken, tokenType: "Bearer", expiresIn };
  },

  /** Revoke every live session of a user (but one, when given); cached principals are dropped. */
  async revokeSessions(this: Self, userId: string, exceptSessionId?: string, transaction?: Transaction) {
    const where: Record<string | symbol, unknown> = { userId, revokedAt: null };
    if (exceptSessionId) where.id = { [Op.ne]: exceptSessionId };
    const [count] = await this.models.sessions.update({ revokedAt: new Date() }, { where, transaction });
    if (transaction) transaction.afterCommit(async () => void (await this.clearCache()));
    else await this.clearCache();
    return count;
  },

  async createUserToken(this: Self, userId: string, purpose: TokenPurpose, transaction?: Transaction) {
    const raw = randomToken();
    await this.models.userTokens.create(
      { userId, purpose, tokenHash: hashToken(raw), expiresAt: new Date(Date.now() + TOKEN_TTL[purpose] * 1000) },
      { transaction },
    );
    return raw;
  },

  /** The live token row, without using it up. */
  peekUserToken(this: Self, raw: string, purpose: TokenPurpose, transaction?: Transaction) {
    return this.models.userTokens.findOne({
      where: { tokenHash: hashToken(raw), purpose, usedAt: null, expiresAt: { [Op.gt]: new Date() } },
      transaction,
    });
  },

  /** Use a single-use token up, atomically; returns its user id, or null if it is not valid. */
  async consumeUserToken(this: Self, raw: string, purpose: TokenPurpose, transaction?: Transaction) {
    const row = await this.peekUserToken(raw, purpose, transaction);
    if (!row) return null;
    const [used] = await this.models.userTokens.update(
      { usedAt: new Date() },
      { where: { id: row.get("id") as string, usedAt: null }, transaction },
    );
    return used === 1 ? (row.get("userId") as string) : null;
  },

  /**
   * The second factor: a TOTP code (each time step accepted once, RFC 6238 §5.2: the
   * step is stored with a compare-and-set, so two concurrent uses cannot both pass) or
   * one of the recovery codes (each usable once).
   */
  async checkSecondFactor(this: Self, user: UserRow, code: string): Promise<"totp" | "recovery" | null> {
    const compact = code.replace(/\s+/g, "");
    if (/^\d{6}$/.test(compact)) {
      // A secret that was set up but never enabled is no second factor (an SMS-only account may have one).
      if (!user.totpEnabled || !user.totpSecret) return null;
      const last = user.totpLastStep === null ? null : Number(user.totpLastStep);
      const result = verifyTotp(openSecret(user.totpSecret, SECRETS_KEY), compact, last);
      if (!result.ok) return null;
      const [updated] = await this.adapter.model.update(
        { totpLastStep: result.step },
        { where: { id: user.id, [Op.or]: [{ totpLastStep: null }, { totpLastStep: { [Op.lt]: result.step } }] } },
      );
      return updated === 1 ? "totp" : null;
    }
    if (!user.recoveryCodes) return null;
    const hashes = JSON.parse(user.recoveryCodes) as string[];
    const hash = hashRecoveryCode(normalizeRecoveryCode(compact), RECOVERY_PEPPER);
    if (!hashes.includes(hash)) return null;
    const [updated] = await this.adapter.model.update(
      { recoveryCodes: JSON.stringify(hashes.filter((h) => h !== hash)) },
      { where: { id: user.id, recoveryCodes: user.recoveryCodes } },
    );
    return updated === 1 ? "recovery" : null;
  },

  activeSuperusers(this: Self) {
    return this.adapter.model.count({ where: { role: "superuser", active: true } });
  },

  async clientRole(this: Self, client: ClientRow): Promise<Role | null> {
    const creator = await this.findRow(client.createdBy);
    return effectiveClientRole(client.role, creator ? this.plain(creator) : null);
  },
};

const invalid = () => unauthorized("The refresh token is not valid.", "INVALID_REFRESH_TOKEN");

/**
 * `users.principal` result: who a token or credentials stand for, right now, and how to reach
 * them (e-mail and name: orders takes an order's contact from here instead of asking users.contact).
 */
export function principalOf(user: UserRow, sid?: string): Principal {
  return { id: user.id, role: user.role, email: user.email, name: user.name, ...(sid ? { sid } : {}) } as Principal;
}

export { hashToken };
