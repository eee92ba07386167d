/**
 * A signed-in person's own account: /api/users/me and two-factor authentication
 * (/api/auth/2fa/*). Only ever the caller's own record: there is no id to tamper with.
 */
import { randomUUID } from "node:crypto";
import type { Context, ActionSchema } from "moleculer";
import type { ShopMeta } from "../../types/moleculer.d.ts";
import { getConfig } from "../../lib/config.ts";
import { conflict, forbidden, invalid, notFound, unauthorized } from "../../lib/errors.ts";
import {
  hashPassword,
  verifyPassword,
  passwordProblem,
  createTotpSecret,
  qrCodeDataUrl,
  verifyTotp,
  sealSecret,
  openSecret,
  createRecoveryCodes,
  hashRecoveryCode,
} from "../../integrations/authentication/index.ts";
import { SECRETS_KEY, RECOVERY_PEPPER, type UsersSelf, type UserRow } from "./methods.ts";
import { PASSWORD } from "./auth.actions.ts";

type Self = UsersSelf;
type Action = ActionSchema<Self>;
const cfg = getConfig();
const CODE = { type: "string", min: 6, max: 32 } as const;

/** The caller's own row; API clients have no account. */
async function me(self: Self, ctx: Context<unknown, ShopMeta>): Promise<UserRow> {
  const principal = ctx.meta.user;
  if (!principal || principal.client) throw forbidden("API clients have no user account.");
  const row = await self.findRow(principal.id);
  if (!row) throw notFound("User");
  return self.plain(row);
}

function newRecoveryCodes() {
  const codes = createRecoveryCodes(10);
  return { codes, stored: JSON.stringify(codes.map((c) => hashRecoveryCode(c, RECOVERY_PEPPER))) };
}

export const accountActions: Record<string, Action> = {
  me: {
    rest: "GET /users/me",
    access: "authenticated",
    params: { $$strict: true },
    async handler(this: Self, ctx: Context<unknown, ShopMeta>) {
      return this.userView(await me(this, ctx));
    },
  },

  updateMe: {
    rest: "PATCH /users/me",
    access: "authenticated",
    params: {
      $$strict: true,
      name: { type: "string", trim: true, min: 1, max: 100, optional: true },
      password: { ...PASSWORD, optional: true },
      currentPassword: { ...PASSWORD, optional: true },
    },
    async handler(this: Self, ctx: Context<{ name?: string; password?: string; currentPassword?: string }, ShopMeta>) {
      const user = await me(this, ctx);
      const { name, password, currentPassword } = ctx.params;
      if (name === undefined && password === undefined) throw invalid("body", "Send name and/or password.", "required");
      const changes: Record<string, unknown> = {};
      if (name !== undefined) changes.name = name;
      if (password !== undefined) {
        if (!currentPassword) throw invalid("currentPassword", "Changing the password needs the current password.", "required");
        // The signed-in owner's own budget: strangers' failed logins must not block a password change.
        await this.limit(this.limits.knownClient, `account:${user.id}`);
        if (!(await verifyPassword(user.passwordHash, currentPassword)))
          throw invalid("currentPassword", "The current password is not correct.", "password");
        const problem = passwordProblem(password, { email: user.email, name: name ?? user.name });
        if (problem) throw invalid("password", problem, "passwordPolicy");
        changes.passwordHash = await hashPassword(password);
      }
      const updated = await this.inTransaction(ctx, async (transaction) => {
        const changed = await this.updateEntity(ctx, user.id, changes, transaction);
        if (changes.passwordHash) {
          // Every other session ends; this one (if it is a session) carries on.
          await this.revokeSessions(user.id, ctx.meta.user?.sid, transaction);
          await this.emitDurable(
            ctx,
            "user.password-changed",
            { user: this.userView(user), at: new Date().toISOString(), reason: "changed" },
            `user.password-changed:${randomUUID()}`,
            transaction,
          );
        }
        return changed;
      });
      return this.userView({ ...user, ...updated });
    },
  },

  twoFactorSetup: {
    rest: "POST /auth/2fa/setup",
    access: "authenticated",
    params: { $$strict: true },
    async handler(this: Self, ctx: Context<unknown, ShopMeta>) {
      const user = await me(this, ctx);
      if (user.totpEnabled) throw conflict("Two-factor authentication is already on; disable it first.", "TOTP_ALREADY_ENABLED");
      const secret = createTotpSecret(user.email, cfg.auth.issuer);
      await this.adapter.model.update(
        { totpSecret: sealSecret(secret.base32, SECRETS_KEY), totpLastStep: null },
        { where: { id: user.id } },
      );
      return { secret: secret.base32, otpauthUrl: secret.otpauthUrl, qrCode: await qrCodeDataUrl(secret.otpauthUrl) };
    },
  },

  twoFactorEnable: {
    rest: "POST /auth/2fa/enable",
    access: "authenticated",
    params: { $$strict: true, code: CODE },
    async handler(this: Self, ctx: Context<{ code: string }, ShopMeta>) {
      const user = await me(this, ctx);
      if (user.totpEnabled) throw conflict("Two-factor authentication is already on.", "TOTP_ALREADY_ENABLED");
      if (!user.totpSecret) throw conflict("Start with POST /api/auth/2fa/setup.", "TOTP_NOT_SET_UP");
      await this.limit(this.limits.secondFactor, user.id);
      const result = verifyTotp(openSecret(user.totpSecret, SECRETS_KEY), ctx.params.code, null);
      if (!result.ok) throw invalid("code", "The code does not match: check the authenticator app and the device clock.", "totp");
      await this.limits.secondFactor.reset(user.id);
      const recovery = newRecoveryCodes();
      await this.inTransaction(ctx, async (transaction) => {
        await this.adapter.model.update(
          { totpEnabled: true, totpLastStep: result.step, recoveryCodes: recovery.stored },
          { where: { id: user.id }, transaction },
        );
        await this.emitDurable(
          ctx,
          "user.2fa-enabled",
          { user: this.userView({ ...user, totpEnabled: true }), at: new Date().toISOString() },
          `user.2fa-enabled:${randomUUID()}`,
          transaction,
        );
      });
      return { enabled: true, recoveryCodes: recovery.codes };
    },
  },

  twoFactorDisable: {
    rest: "POST /auth/2fa/disable",
    access: "authenticated",
    params: { $$strict: true, password: PASSWORD, code: CODE },
    async handler(this: Self, ctx: Context<{ password: string; code: string }, ShopMeta>) {
      const user = await me(this, ctx);
      if (!user.totpEnabled) throw conflict("Two-factor authentication is not on.", "TOTP_NOT_ENABLED");
      await this.limit(this.limits.secondFactor, user.id);
      if (!(await verifyPassword(user.passwordHash, ctx.params.password)))
        throw invalid("password", "The password is not correct.", "password");
      if (!(await this.checkSecondFactor(user, ctx.params.code))) throw invalid("code", "The code is not valid.", "totp");
      await this.limits.secondFactor.reset(user.id);
      // Recovery codes stay while SMS remains a second factor (users/sms.actions.ts).
      const recoveryCodes = user.smsPhone ? user.recoveryCodes : null;
      const off = { totpEnabled: false, totpSecret: null, totpLastStep: null, recoveryCodes };
      await this.adapter.model.update(off, { where: { id: user.id } });
      await this.clearCache();
      return { enabled: false };
    },
  },

  twoFactorRecoveryCodes: {
    rest: "POST /auth/2fa/recovery-codes",
    access: "authenticated",
    params: { $$strict: true, code: CODE },
    async handler(this: Self, ctx: Context<{ code: string }, ShopMeta>) {
      const user = await me(this, ctx);
      if (!user.totpEnabled) throw conflict("Two-factor authentication is not on.", "TOTP_NOT_ENABLED");
      await this.limit(this.limits.secondFactor, user.id);
      if ((await this.checkSecondFactor(user, ctx.params.code)) !== "totp")
        throw unauthorized("A current code from the authenticator app is required.", "INVALID_TOTP");
      await this.limits.secondFactor.reset(user.id);
      const recovery = newRecoveryCodes();
      await this.adapter.model.update({ recoveryCodes: recovery.stored }, { where: { id: user.id } });
      return { recoveryCodes: recovery.codes };
    },
  },
};
