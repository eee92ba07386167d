/**
 * /api/auth/*: registration, sign-in (password, then TOTP when enabled), refresh-token
 * rotation, logout, e-mail verification, password reset, the OAuth 2.0 token endpoint,
 * and the internal `authenticate` the gateway calls for every request with credentials.
 */
import { randomUUID } from "node:crypto";
import type { Context, ActionSchema } from "moleculer";
import type { ShopMeta } from "../../types/moleculer.d.ts";
import { getConfig } from "../../lib/config.ts";
import { invalid, unauthorized, OAuthError } from "../../lib/errors.ts";
import { EMAIL_MAX_LENGTH, isEmailAddress, normalizeEmail } from "../../domain/user-rules.ts";
import {
  hashPassword,
  verifyPassword,
  verifyAgainstDummy,
  passwordProblem,
  verifyAccessToken,
  TokenError,
  parseBasic,
  signAccessToken,
  hashToken,
  safeEqual,
} from "../../integrations/authentication/index.ts";
import { isUuid } from "../../lib/listing.ts";
import { JWT, CLIENT_TOKEN_TTL, principalOf, type ClientRow, type UsersSelf, type UserRow } from "./methods.ts";
import { afterFirstFactor, completeSignIn, hasSecondFactor } from "./second-factor.ts";

type Self = UsersSelf;
type Action = ActionSchema<Self>;
const cfg = getConfig();

/** An address to look an account up by (sign-in, password reset): any e-mail-shaped text, so no older account is locked out. */
export const EMAIL = { type: "email", max: EMAIL_MAX_LENGTH, normalize: true } as const;
/**
 * The address of a new account: fastest-validator's e-mail shape, then the real rule
 * (domain/user-rules.ts isEmailAddress); one `email` error either way.
 */
export const NEW_EMAIL = {
  ...EMAIL,
  custom(value: unknown, errors: { type: string; actual?: unknown }[]) {
    const shapeChecked = typeof value === "string" && EMAIL_SHAPE.test(value) && value.length <= EMAIL_MAX_LENGTH;
    if (shapeChecked && !isEmailAddress(value)) errors.push({ type: "email", actual: value });
    return value;
  },
};
/** fastest-validator's own (quick) e-mail pattern: what it has already refused. */
const EMAIL_SHAPE = /^\S+@\S+\.\S+$/;
export const PASSWORD = { type: "string", min: 1, max: 1024 } as const;

function assertPassword(password: string, context: { email?: string; name?: string }) {
  const problem = passwordProblem(password, context);
  if (problem) throw invalid("password", problem, "passwordPolicy");
}

/** What the gateway passes `authenticate` of a request's Authorization header (and the request's). */
type Credentials = { scheme: "bearer" | "basic"; credentials: string; totp?: string; ip?: string; device?: string };

/** Same answer, same cost, for an unknown e-mail and a wrong password. */
const badCredentials = () => unauthorized("The e-mail or password is not correct.", "INVALID_CREDENTIALS");

export const authActions: Record<string, Action> = {
  register: {
    rest: "POST /auth/register",
    access: "public",
    params: {
      $$strict: true,
      email: NEW_EMAIL,
      password: PASSWORD,
      name: { type: "string", trim: true, min: 1, max: 100 },
    },
    async handler(this: Self, ctx: Context<{ email: string; password: string; name: string }, ShopMeta>) {
      await this.limitAddress(this.limits.registerIp, ctx.meta.ip);
      const email = normalizeEmail(ctx.params.email);
      assertPassword(ctx.params.password, { email, name: ctx.params.name });
      const passwordHash = await hashPassword(ctx.params.password);
      // The account, its verification token and the welcome e-mail's event: all or nothing.
      const user = await this.inTransaction(ctx, async (transaction) => {
        const row = await this.adapter.model.create({ email, name: ctx.params.name, passwordHash, role: "user" }, { transaction });
        const created = this.userView(row);
        const token = await this.createUserToken(created.id, "verify-email", transaction);
        const verifyUrl = `${cfg.appUrl}/verify-email?token=${token}`;
        const event = { user: created, verificationToken: token, verifyUrl };
        await this.emitDurable(ctx, "user.registered", event, `user.registered:${created.id}`, transaction);
        return created;
      });
      ctx.meta.$statusCode = 201;
      ctx.meta.$location = "/api/users/me";
      return user;
    },
  },

  login: {
    rest: "POST /auth/login",
    access: "public",
    params: { $$strict: true, email: EMAIL, password: PASSWORD },
    async handler(this: Self, ctx: Context<{ email: string; password: string }, ShopMeta>) {
      const email = normalizeEmail(ctx.params.email);
      const row = await this.findByEmail(email);
      const user = row ? this.plain(row) : null;
      // A known client (device token, known address) spends its own budget; strangers the account's.
      const known = await this.signInAttempt("login", email, user, ctx.meta.deviceToken, ctx.meta.ip);
      if (!user) throw await verifyAgainstDummy(ctx.params.password).then(badCredentials);
      if (!(await verifyPassword(user.passwordHash, ctx.params.password)) || !user.active) throw badCredentials();
      await this.passwordAccepted("login", email, known);
      return afterFirstFactor(this, ctx, user);
    },
  },

  loginTotp: {
    rest: "POST /auth/login/totp",
    access: "public",
    params: { $$strict: true, mfaToken: { type: "string", min: 10, max: 200 }, code: { type: "string", min: 6, max: 32 } },
    async handler(this: Self, ctx: Context<{ mfaToken: string; code: string }, ShopMeta>) {
      await this.limitAddress(this.limits.loginIp, ctx.meta.ip);
      const pending = await this.peekUserToken(ctx.params.mfaToken, "mfa");
      if (!pending) throw unauthorized("The sign-in step has expired; sign in again.", "INVALID_MFA_TOKEN");
      const userId = pending.get("userId") as string;
      await this.limit(this.limits.secondFactor, userId);
      const row = await this.adapter.model.findByPk(userId);
      const user = row ? this.plain(row) : null;
      if (!user?.active || !hasSecondFactor(user)) throw unauthorized("The sign-in step has expired; sign in again.", "INVALID_MFA_TOKEN");
      if (!(await this.checkSecondFactor(user, ctx.params.code))) throw unauthorized("The code is not valid.", "INVALID_TOTP");
      if (!(await this.consumeUserToken(ctx.params.mfaToken, "mfa")))
        throw unauthorized("The sign-in step was already used.", "INVALID_MFA_TOKEN");
      await this.limits.secondFactor.reset(userId);
      return completeSignIn(this, ctx, user);
    },
  },

  refresh: {
    rest: "POST /auth/refresh",
    access: "public",
    params: { $$strict: true, refreshToken: { type: "string", min: 10, max: 200 } },
    async handler(this: Self, ctx: Context<{ refreshToken: string }, ShopMeta>) {
      await this.limitAddress(this.limits.tokenIp, ctx.meta.ip);
      return this.rotateRefreshToken(ctx, ctx.params.refreshToken);
    },
  },

  logout: {
    rest: "POST /auth/logout",
    access: "authenticated",
    params: { $$strict: true, refreshToken: { type: "string", max: 200, optional: true } },
    async handler(this: Self, ctx: Context<{ refreshToken?: string }, ShopMeta>) {
      const principal = ctx.meta.user!;
      if (principal.sid) {
        await this.models.sessions.update(
          { revokedAt: new Date() },
          { where: { id: principal.sid, userId: principal.id, revokedAt: null } },
        );
      }
      if (ctx.params.refreshToken) {
        const token = await this.models.refreshTokens.findOne({ where: { tokenHash: hashToken(ctx.params.refreshToken) } });
        const sessionId = token?.get("sessionId") as string | undefined;
        if (sessionId)
          await this.models.sessions.update({ revokedAt: new Date() }, { where: { id: sessionId, userId: principal.id, revokedAt: null } });
      }
      await this.clearCache();
      ctx.meta.$statusCode = 204;
      return null;
    },
  },

  verifyEmail: {
    rest: "POST /auth/verify-email",
    access: "public",
    params: { $$strict: true, token: { type: "string", min: 10, max: 200 } },
    async handler(this: Self, ctx: Context<{ token: string }, ShopMeta>) {
      const userId = await this.consumeUserToken(ctx.params.token, "verify-email");
      if (!userId) throw invalid("token", "The verification link is not valid or has expired.", "token");
      await this.adapter.model.update({ emailVerified: true }, { where: { id: userId } });
      await this.clearCache();
      return { emailVerified: true };
    },
  },

  forgotPassword: {
    rest: "POST /auth/password/forgot",
    access: "public",
    params: { $$strict: true, email: EMAIL },
    async handler(this: Self, ctx: Context<{ email: string }, ShopMeta>) {
      const email = normalizeEmail(ctx.params.email);
      await this.limitAddress(this.limits.forgotIp, ctx.meta.ip);
      await this.limit(this.limits.forgotAccount, email);
      // Everything that differs between a known and an unknown address happens after the
      // answer, so both take the same time (issue 12, finding 7).
      this.inBackground("Sending a password-reset link", async () => {
        const row = await this.findByEmail(email);
        const user = row ? this.plain(row) : null;
        if (!user?.active) return;
        await this.inTransaction(ctx, async (transaction) => {
          const token = await this.createUserToken(user.id, "password-reset", transaction);
          await this.emitDurable(
            ctx,
            "user.password-reset-requested",
            { user: this.userView(user), resetToken: token, resetUrl: `${cfg.appUrl}/reset-password?token=${token}` },
            `user.password-reset-requested:${randomUUID()}`,
            transaction,
          );
        });
      });
      // Always the same answer: whether an account exists is nobody's business.
      ctx.meta.$statusCode = 202;
      return { status: "accepted", message: "If an account exists for this address, a reset link is on its way." };
    },
  },

  resetPassword: {
    rest: "POST /auth/password/reset",
    access: "public",
    params: { $$strict: true, token: { type: "string", min: 10, max: 200 }, password: PASSWORD },
    async handler(this: Self, ctx: Context<{ token: string; password: string }, ShopMeta>) {
      await this.limitAddress(this.limits.forgotIp, ctx.meta.ip);
      const pending = await this.peekUserToken(ctx.params.token, "password-reset");
      const row = pending ? await this.adapter.model.findByPk(pending.get("userId") as string) : null;
      if (!row) throw invalid("token", "The reset link is not valid or has expired.", "token");
      const user = this.plain(row);
      assertPassword(ctx.params.password, { email: user.email, name: user.name });
      const passwordHash = await hashPassword(ctx.params.password);
      // The link is used up, the password changed, every session ended and the notice queued: together.
      await this.inTransaction(ctx, async (transaction) => {
        if (!(await this.consumeUserToken(ctx.params.token, "password-reset", transaction)))
          throw invalid("token", "The reset link was already used.", "token");
        await this.adapter.model.update({ passwordHash }, { where: { id: user.id }, transaction });
        await this.revokeSessions(user.id, undefined, transaction);
        await this.emitDurable(
          ctx,
          "user.password-changed",
          { user: this.userView(user), at: new Date().toISOString(), reason: "reset" },
          `user.password-changed:${randomUUID()}`,
          transaction,
        );
      });
      return { status: "ok" };
    },
  },

  /**
   * OAuth 2.0 token endpoint (RFC 6749 §3.2), JSON or form-encoded:
   * grant_type=refresh_token (rotation as /auth/refresh) and grant_type=client_credentials
   * (client authenticated with HTTP Basic, or client_id + client_secret in the body).
   */
  token: {
    rest: "POST /auth/token",
    access: "public",
    clientAuthentication: true,
    params: {
      grant_type: { type: "string", max: 64, optional: true },
      refresh_token: { type: "string", max: 200, optional: true },
      client_id: { type: "string", max: 128, optional: true },
      client_secret: { type: "string", max: 256, optional: true },
      scope: { type: "string", max: 256, optional: true },
    },
    async handler(this: Self, ctx: Context<Record<string, string | undefined>, ShopMeta>) {
      ctx.meta.$responseHeaders = { "Cache-Control": "no-store", Pragma: "no-cache" };
      await this.limitAddress(this.limits.tokenIp, ctx.meta.ip);
      const grant = ctx.params.grant_type;
      if (!grant) throw new OAuthError("invalid_request", "grant_type is required.");

      if (grant === "refresh_token") {
        if (!ctx.params.refresh_token) throw new OAuthError("invalid_request", "refresh_token is required.");
        const pair = await this.rotateRefreshToken(ctx, ctx.params.refresh_token).catch(() => {
          throw new OAuthError("invalid_grant", "The refresh token is not valid.");
        });
        return { access_token: pair.accessToken, token_type: "Bearer", expires_in: pair.expiresIn, refresh_token: pair.refreshToken };
      }

      if (grant === "client_credentials") {
        const basic = ctx.meta.authorization?.match(/^Basic\s+(.+)$/i)?.[1];
        const fromHeader = basic ? parseBasic(basic) : null;
        if (basic && !fromHeader) throw new OAuthError("invalid_client", "The client credentials are malformed.");
        // RFC 6749 §2.3.1: Basic credentials are form-encoded before base64.
        const clientId = fromHeader ? decodeURIComponent(fromHeader.username) : ctx.params.client_id;
        const secret = fromHeader ? decodeURIComponent(fromHeader.password) : ctx.params.client_secret;
        if (!clientId || !secret) throw new OAuthError("invalid_client", "Client authentication is required.");
        const row = await this.models.clients.findOne({ where: { clientId } });
        const client = row?.get({ plain: true }) as ClientRow | undefined;
        const secretOk = safeEqual(hashToken(secret), client?.secretHash ?? "0".repeat(64));
        if (!client || !client.active || !secretOk) throw new OAuthError("invalid_client", "Unknown client or wrong secret.");
        // Never more than its creator may do right now; nothing while the creator is inactive or gone.
        const role = await this.clientRole(client);
        if (!role) throw new OAuthError("invalid_client", "This client is disabled: the account that created it is no longer active.");
        await this.models.clients.update({ lastUsedAt: new Date() }, { where: { id: client.id } });
        // Short-lived, and its `sid` is the client itself: deleting the client ends every token at once.
        const { token, expiresIn } = signAccessToken(
          { sub: `client:${client.id}`, role, sid: client.id },
          { ...JWT, ttlSeconds: CLIENT_TOKEN_TTL },
        );
        return { access_token: token, token_type: "Bearer", expires_in: expiresIn };
      }

      throw new OAuthError("unsupported_grant_type", `grant_type ${grant} is not supported: use refresh_token or client_credentials.`);
    },
  },

  /**
   * Who is calling? For the gateway only. Bearer: a valid access JWT whose user (or
   * client) is still active and whose session is not revoked. Basic: e-mail and password,
   * plus the current TOTP code in X-TOTP for accounts with two-factor authentication.
   */
  authenticate: {
    access: "internal",
    idempotent: true,
    visibility: "public",
    params: {
      scheme: { type: "enum", values: ["bearer", "basic"] },
      credentials: { type: "string", max: 4096 },
      totp: { type: "string", max: 32, optional: true },
      ip: { type: "string", max: 64, optional: true },
      device: { type: "string", max: 256, optional: true },
    },
    async handler(this: Self, ctx: Context<Credentials, ShopMeta>) {
      const { scheme, credentials } = ctx.params;
      if (scheme === "bearer") {
        let claims;
        try {
          claims = verifyAccessToken(credentials, JWT);
        } catch (err) {
          if (err instanceof TokenError)
            throw unauthorized(
              err.reason === "expired" ? "The access token has expired." : "The access token is not valid.",
              "INVALID_TOKEN",
            );
          throw err;
        }
        const principal = await ctx.call<ReturnType<typeof principalOf> | null, object>("users.principal", {
          sub: claims.sub,
          sid: claims.sid,
        });
        if (!principal) throw unauthorized("The access token is no longer valid.", "INVALID_TOKEN");
        return principal;
      }

      const parsed = parseBasic(credentials);
      if (!parsed) {
        await this.limitAddress(this.limits.basicIp, ctx.params.ip);
        throw unauthorized("Basic credentials must be base64 of email:password.", "INVALID_CREDENTIALS");
      }
      const email = normalizeEmail(parsed.username);
      const row = await this.findByEmail(email);
      const found: UserRow | null = row ? this.plain(row) : null;
      // As for login: a known client spends its own budget, strangers the address's and the account's.
      const known = await this.signInAttempt("basic", email, found, ctx.params.device, ctx.params.ip);
      if (!found) throw await verifyAgainstDummy(parsed.password).then(badCredentials);
      const user = found;
      if (!(await verifyPassword(user.passwordHash, parsed.password)) || !user.active) throw badCredentials();
      await this.passwordAccepted("basic", email, known);
      if (hasSecondFactor(user)) {
        if (!ctx.params.totp)
          throw unauthorized("This account uses two-factor authentication: send the current code in the X-TOTP header.", "TOTP_REQUIRED");
        await this.limit(this.limits.secondFactor, user.id);
        if ((await this.checkSecondFactor(user, ctx.params.totp)) === null)
          throw unauthorized("The X-TOTP code is not valid.", "INVALID_TOTP");
        // A good code gives the budget back: it counts failures, not uses (issue 12, finding 10).
        await this.limits.secondFactor.reset(user.id);
      }
      await this.signedIn(user, ctx.params.ip);
      return principalOf(user);
    },
  },

  /** How to reach a user (for notifications about their orders). */
  contact: {
    access: "internal",
    idempotent: true,
    visibility: "public",
    cache: { keys: ["id"], ttl: 300 },
    params: { id: { type: "string", max: 64 } },
    async handler(this: Self, ctx: Context<{ id: string }>) {
      const row = await this.findRow(ctx.params.id);
      if (!row) return null;
      const u = this.plain(row);
      return { id: u.id, email: u.email, name: u.name };
    },
  },

  /** The principal behind a token subject, right now (cached; cleaned on every change). */
  principal: {
    access: "internal",
    idempotent: true,
    visibility: "public",
    cache: { keys: ["sub", "sid"], ttl: 60 },
    params: { sub: { type: "string", max: 100 }, sid: { type: "string", max: 64, optional: true } },
    async handler(this: Self, ctx: Context<{ sub: string; sid?: string }>) {
      const { sub, sid } = ctx.params;
      // Every access token names its session; a token without one is never accepted.
      if (!sid) return null;
      if (sub.startsWith("client:")) {
        // A client's session is the client itself; its role is bounded by its creator's, right now.
        const id = sub.slice(7);
        const row = isUuid(id) && sid === id ? await this.models.clients.findByPk(id) : null;
        const client = row?.get({ plain: true }) as ClientRow | undefined;
        const role = client?.active ? await this.clientRole(client) : null;
        return role ? { id: client!.id, role, client: true } : null;
      }
      const row = await this.findRow(sub);
      const user = row ? this.plain(row) : null;
      if (!user?.active) return null;
      const session = isUuid(sid) ? await this.models.sessions.findByPk(sid) : null;
      const s = session?.get({ plain: true }) as { userId: string; revokedAt: Date | null; expiresAt: Date } | undefined;
      if (!s || s.userId !== user.id || s.revokedAt || new Date(s.expiresAt) < new Date()) return null;
      return principalOf(user, sid);
    },
  },
};
