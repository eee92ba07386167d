/**
 * SMS as a second factor (next to TOTP and recovery codes):
 *
 *   enrol     POST /auth/2fa/sms/enrol {phoneNumber} → 202, a code goes to the number;
 *             POST /auth/2fa/sms/confirm {code} → the number is the account's second factor
 *             (and recovery codes, when the account had none)
 *   sign in   POST /auth/login answers {mfaRequired, mfaToken, methods: ["sms", …]};
 *             POST /auth/login/sms/send {mfaToken} → 202, a code goes to the number;
 *             POST /auth/login/sms {mfaToken, code} → tokens
 *   disable   POST /auth/2fa/sms/send → 202 (a code to prove the number is still yours);
 *             POST /auth/2fa/sms/disable {password, code} (that code, a TOTP or a recovery code)
 *   status    GET /auth/2fa: which second factors are on
 *
 * Codes (integrations/authentication/one-time-codes.ts): 6 digits, SMS_CODE_TTL seconds (5
 * minutes), single use, stored as an HMAC bound to their row, SMS_CODE_ATTEMPTS wrong tries (5)
 * and the code is dead; a new code replaces the account's previous one for the same purpose.
 * Sends are limited per account, per number and per client IP (SMS_SENDS_PER_*, per hour):
 * sending texts costs money, and "SMS pumping" (sending to numbers that pay the sender) is fraud.
 *
 * Delivery (integrations/sms/): Twilio or the outbox folder. A number the provider refuses is
 * a 422 (enrolment) or 409 (a number on file that stopped working); a provider outage is a 503
 * with Retry-After. Nothing is lost on the way: a code whose message certainly did not leave is
 * deleted and the account's and number's sends are given back; one whose message may still
 * arrive (a timeout, a provider error after it may have accepted it) stays valid. Sending is
 * never idempotent (`idempotent: false`): a timeout is no proof that nothing left, and a retry
 * would text a second code and pay for it; only a call the transporter never delivered is
 * tried again (middlewares/retry-policy.ts). Checking a code spends it: not idempotent either.
 */
import { randomUUID } from "node:crypto";
import { Op } from "sequelize";
import { Errors, type Context, type ActionSchema } from "moleculer";
import type { ShopMeta } from "../../types/moleculer.d.ts";
import { getConfig } from "../../lib/config.ts";
import { conflict, forbidden, invalid, notFound, unauthorized } from "../../lib/errors.ts";
import { textablePhoneNumber, maskPhoneNumber } from "../../domain/phone-numbers.ts";
import {
  createLimiter,
  createOneTimeCode,
  createRecoveryCodes,
  deriveKey,
  hashOneTimeCode,
  hashRecoveryCode,
  oneTimeCodeMatches,
  verifyPassword,
  type Limiter,
} from "../../integrations/authentication/index.ts";
import { createSmsSender, SmsError, type SmsSender } from "../../integrations/sms/index.ts";
import { RECOVERY_PEPPER, type UserRow, type UsersSelf } from "./methods.ts";
import { signInModels, type SignInModels, type SmsCodeRow, type SmsPurpose } from "./sign-in.models.ts";
import { completeSignIn, hasSecondFactor, secondFactorStatus } from "./second-factor.ts";
import { PASSWORD } from "./auth.actions.ts";

type Self = UsersSelf;
type Action = ActionSchema<Self>;
const cfg = getConfig();

/** Keys the HMAC of stored codes (one purpose per key). */
const SMS_CODE_KEY = deriveKey(cfg.auth.secretsKey, "shop sms codes v1");
const CODE = { type: "string", min: 6, max: 32 } as const;
const MFA_TOKEN = { type: "string", min: 10, max: 200 } as const;

const PURPOSE_TEXT: Record<SmsPurpose, string> = {
  enrol: "to confirm this number",
  login: "to sign in",
  verify: "to confirm it is you",
};

interface SmsRuntime {
  sender: Promise<SmsSender>;
  limits: { account: Limiter; number: Limiter; ip: Limiter };
}

const runtimes = new WeakMap<object, SmsRuntime>();

/** The sender and the send limits of this service instance (made on first use; shared Redis counters when configured). */
function sms(self: Self): SmsRuntime {
  let runtime = runtimes.get(self);
  if (runtime) return runtime;
  const perHour = (name: string, points: number) =>
    createLimiter(
      `${cfg.namespace}:sms-${name}`,
      { points: points * cfg.auth.rateLimitFactor, durationSec: 3600 },
      self.redis ?? undefined,
    );
  const options =
    cfg.sms.provider === "twilio"
      ? { provider: "twilio" as const, ...cfg.sms.twilio! }
      : { provider: "outbox" as const, outboxDir: cfg.sms.outboxDir };
  runtime = {
    sender: createSmsSender(options),
    limits: {
      account: perHour("account", cfg.sms.sendsPerHour.account),
      number: perHour("number", cfg.sms.sendsPerHour.number),
      ip: perHour("ip", cfg.sms.sendsPerHour.ip),
    },
  };
  runtimes.set(self, runtime);
  return runtime;
}

/** The send limiters of a users service instance (tests reset the client-IP budget between cases). */
export function smsLimits(service: object): SmsRuntime["limits"] {
  return sms(service as Self).limits;
}

export function smsModels(self: Self): SignInModels {
  return signInModels(self.adapter.db);
}

/** The caller's own row; API clients have no account. */
async function me(self: Self, ctx: Context<unknown, ShopMeta>): Promise<UserRow> {
  const principal = ctx.meta.user;
  if (!principal || principal.client) throw forbidden("API clients have no user account.");
  const row = await self.findRow(principal.id);
  if (!row) throw notFound("User");
  return self.plain(row);
}

/** 503 with Retry-After (services/api/http-errors.ts): the SMS provider, not the request, is the problem. */
function smsUnavailable(retryAfterSec: number | null) {
  const retryAfter = retryAfterSec ?? 10;
  return new Errors.MoleculerError(`Text messages cannot be sent right now; try again in ${retryAfter} s.`, 503, "SMS_UNAVAILABLE", {
    retryAfter,
  });
}

/**
 * Send a new code for `purpose` to `phone`: limits first (per IP, account, number), then the
 * account's previous codes for the purpose are retired, the new one stored (hashed) and sent.
 */
async function sendCode(self: Self, ctx: Context<unknown, ShopMeta>, userId: string, purpose: SmsPurpose, phone: string) {
  const { sender, limits } = sms(self);
  await self.limitAddress(limits.ip, ctx.meta.ip);
  await self.limit(limits.account, userId);
  await self.limit(limits.number, phone);
  const { smsCodes } = smsModels(self);
  const now = new Date();
  // Used and expired rows go; a live code of the same purpose is retired by the new one.
  await smsCodes.destroy({ where: { userId, [Op.or]: [{ usedAt: { [Op.ne]: null } }, { expiresAt: { [Op.lt]: now } }] } });
  await smsCodes.update({ usedAt: now }, { where: { userId, purpose, usedAt: null } });
  const id = randomUUID();
  const code = createOneTimeCode();
  const minutes = Math.round(cfg.sms.codeTtlSec / 60);
  await smsCodes.create({
    id,
    userId,
    purpose,
    phoneNumber: phone,
    codeHash: hashOneTimeCode(code, id, SMS_CODE_KEY),
    expiresAt: new Date(now.getTime() + cfg.sms.codeTtlSec * 1000),
  });
  const body = `${code} is your Moleculer Shop code ${PURPOSE_TEXT[purpose]}. It expires in ${minutes} minutes. Never share it.`;
  try {
    const receipt = await (await sender).send({ id, to: phone, body });
    await smsCodes.update({ messageId: receipt.messageId.slice(0, 64) }, { where: { id } });
  } catch (err) {
    if (!(err instanceof SmsError)) throw err;
    if (!err.maybeDelivered) {
      // Certainly not sent: no live code without a message, and the attempt does not count (except as pumping).
      await smsCodes.destroy({ where: { id } });
      if (err.reason === "unavailable") await Promise.all([limits.account.reward(userId), limits.number.reward(phone)]);
    }
    if (err.reason === "invalid-recipient") {
      if (purpose === "enrol") throw invalid("phoneNumber", err.message, "phoneNumber");
      throw conflict(`${err.message} Use another second factor, or a recovery code.`, "SMS_UNDELIVERABLE");
    }
    const log =
      err.providerStatus === 401 || err.providerStatus === 403 || (err.providerStatus !== null && err.providerStatus < 429)
        ? "error"
        : "warn";
    self.logger[log](`SMS ${id} (${purpose}) not sent: ${err.message}${err.maybeDelivered ? " (it may still arrive)" : ""}`);
    throw smsUnavailable(err.retryAfterSec);
  }
  return { sent: true, phoneNumber: maskPhoneNumber(phone), expiresIn: cfg.sms.codeTtlSec };
}

type CodeCheck = { ok: true; row: SmsCodeRow } | { ok: false; reason: "none" | "expired" | "exhausted" | "mismatch" };

/**
 * Check `input` against the account's live code for `purpose`, using it up when it matches
 * (a compare-and-set, so two concurrent uses cannot both pass); a wrong code spends a try.
 */
async function checkCode(self: Self, userId: string, purpose: SmsPurpose, input: string): Promise<CodeCheck> {
  const { smsCodes } = smsModels(self);
  const found = await smsCodes.findOne({ where: { userId, purpose, usedAt: null }, order: [["createdAt", "DESC"]] });
  if (!found) return { ok: false, reason: "none" };
  const row = found.get({ plain: true }) as SmsCodeRow;
  if (new Date(row.expiresAt) <= new Date()) return { ok: false, reason: "expired" };
  if (row.attempts >= cfg.sms.maxAttempts) return { ok: false, reason: "exhausted" };
  if (!oneTimeCodeMatches(input, row.id, row.codeHash, SMS_CODE_KEY)) {
    await smsCodes.increment("attempts", { where: { id: row.id } });
    return { ok: false, reason: row.attempts + 1 >= cfg.sms.maxAttempts ? "exhausted" : "mismatch" };
  }
  const [claimed] = await smsCodes.update(
    { usedAt: new Date() },
    { where: { id: row.id, usedAt: null, attempts: { [Op.lt]: cfg.sms.maxAttempts }, expiresAt: { [Op.gt]: new Date() } } },
  );
  return claimed === 1 ? { ok: true, row } : { ok: false, reason: "none" };
}

const CODE_PROBLEM: Record<Exclude<CodeCheck, { ok: true }>["reason"], string> = {
  none: "No code is waiting: ask for a new one.",
  expired: "The code has expired: ask for a new one.",
  exhausted: "Too many wrong codes: ask for a new one.",
  mismatch: "The code is not correct.",
};

function newRecoveryCodes() {
  const codes = createRecoveryCodes(10);
  return { codes, stored: JSON.stringify(codes.map((c) => hashRecoveryCode(c, RECOVERY_PEPPER))) };
}

const expired = () => unauthorized("The sign-in step has expired; sign in again.", "INVALID_MFA_TOKEN");

/** The pending sign-in behind an mfaToken, and its account; a 401 when either is gone. */
async function pendingSignIn(self: Self, mfaToken: string) {
  const pending = await self.peekUserToken(mfaToken, "mfa");
  if (!pending) throw expired();
  const row = await self.adapter.model.findByPk(pending.get("userId") as string);
  const user = row ? self.plain(row) : null;
  if (!user?.active || !hasSecondFactor(user)) throw expired();
  return user;
}

/** A send: 202 and where the code went; a 429 past the limits, a 503 while the provider is down. */
const accepted = (summary: string) => ({ summary, success: [202], more: [429, 503], response: "SmsCodeSent" });

export const smsActions: Record<string, Action> = {
  twoFactorStatus: {
    rest: "GET /auth/2fa",
    access: "authenticated",
    params: { $$strict: true },
    openapi: {
      summary: "Which second factors are on (TOTP, SMS with the number masked, recovery codes left)",
      response: "TwoFactorStatus",
    },
    async handler(this: Self, ctx: Context<unknown, ShopMeta>) {
      return secondFactorStatus(await me(this, ctx));
    },
  },

  smsEnrol: {
    rest: "POST /auth/2fa/sms/enrol",
    idempotent: false, // sends a text (header)
    access: "authenticated",
    params: { $$strict: true, phoneNumber: { type: "string", min: 3, max: 32 } },
    openapi: accepted("SMS second factor, step 1: send a code to a mobile number (international format)"),
    async handler(this: Self, ctx: Context<{ phoneNumber: string }, ShopMeta>) {
      const user = await me(this, ctx);
      if (user.smsPhone)
        throw conflict("SMS sign-in codes are already on; disable them first to change the number.", "SMS_ALREADY_ENABLED");
      const phone = textablePhoneNumber(ctx.params.phoneNumber, cfg.sms.countries);
      if (!phone.ok) throw invalid("phoneNumber", phone.problem, "phoneNumber");
      const sent = await sendCode(this, ctx, user.id, "enrol", phone.e164);
      ctx.meta.$statusCode = 202;
      return sent;
    },
  },

  smsConfirm: {
    rest: "POST /auth/2fa/sms/confirm",
    access: "authenticated",
    params: { $$strict: true, code: CODE },
    openapi: {
      summary: "SMS second factor, step 2: the code received turns it on (and gives recovery codes if there were none)",
      response: "SmsEnabled",
    },
    async handler(this: Self, ctx: Context<{ code: string }, ShopMeta>) {
      const user = await me(this, ctx);
      if (user.smsPhone) throw conflict("SMS sign-in codes are already on.", "SMS_ALREADY_ENABLED");
      await this.limit(this.limits.secondFactor, user.id);
      const check = await checkCode(this, user.id, "enrol", ctx.params.code);
      if (!check.ok) throw invalid("code", CODE_PROBLEM[check.reason], "smsCode");
      // A good code gives the budget back: it counts failures, not uses.
      await this.limits.secondFactor.reset(user.id);
      const phone = check.row.phoneNumber;
      // An account without recovery codes gets them now: losing the phone must not lock it out.
      const recovery = user.recoveryCodes && JSON.parse(user.recoveryCodes).length ? null : newRecoveryCodes();
      await this.inTransaction(ctx, async (transaction) => {
        await this.adapter.model.update(
          { smsPhone: phone, ...(recovery ? { recoveryCodes: recovery.stored } : {}) },
          { where: { id: user.id }, transaction },
        );
        const view = this.userView({ ...user, smsPhone: phone });
        await this.emitDurable(
          ctx,
          "user.2fa-enabled",
          { user: view, at: new Date().toISOString(), method: "sms" },
          `user.2fa-enabled:${randomUUID()}`,
          transaction,
        );
      });
      return { enabled: true, phoneNumber: maskPhoneNumber(phone), ...(recovery ? { recoveryCodes: recovery.codes } : {}) };
    },
  },

  smsSendCode: {
    rest: "POST /auth/2fa/sms/send",
    idempotent: false, // sends a text (header)
    access: "authenticated",
    params: { $$strict: true },
    openapi: accepted("Send a code to the account's SMS number (to disable SMS sign-in codes)"),
    async handler(this: Self, ctx: Context<unknown, ShopMeta>) {
      const user = await me(this, ctx);
      if (!user.smsPhone) throw conflict("SMS sign-in codes are not on.", "SMS_NOT_ENABLED");
      const sent = await sendCode(this, ctx, user.id, "verify", user.smsPhone);
      ctx.meta.$statusCode = 202;
      return sent;
    },
  },

  smsDisable: {
    rest: "POST /auth/2fa/sms/disable",
    access: "authenticated",
    params: { $$strict: true, password: PASSWORD, code: CODE },
    openapi: {
      summary: "Turn SMS sign-in codes off: the password and a code (SMS from /auth/2fa/sms/send, TOTP or recovery)",
      response: "SmsDisabled",
    },
    async handler(this: Self, ctx: Context<{ password: string; code: string }, ShopMeta>) {
      const user = await me(this, ctx);
      if (!user.smsPhone) throw conflict("SMS sign-in codes are not on.", "SMS_NOT_ENABLED");
      await this.limit(this.limits.secondFactor, user.id);
      if (!(await verifyPassword(user.passwordHash, ctx.params.password)))
        throw invalid("password", "The password is not correct.", "password");
      const proven =
        (await this.checkSecondFactor(user, ctx.params.code)) !== null || (await checkCode(this, user.id, "verify", ctx.params.code)).ok;
      if (!proven) throw invalid("code", "The code is not valid.", "smsCode");
      await this.limits.secondFactor.reset(user.id);
      // Recovery codes stay while TOTP remains a second factor.
      await this.adapter.model.update(
        { smsPhone: null, recoveryCodes: user.totpEnabled ? user.recoveryCodes : null },
        { where: { id: user.id } },
      );
      await smsModels(this).smsCodes.destroy({ where: { userId: user.id } });
      await this.clearCache();
      return { enabled: false };
    },
  },

  loginSmsSend: {
    rest: "POST /auth/login/sms/send",
    idempotent: false, // sends a text (header)
    access: "public",
    params: { $$strict: true, mfaToken: MFA_TOKEN },
    openapi: { ...accepted("Second sign-in step by SMS: send the code"), more: [401, 409, 429, 503] },
    async handler(this: Self, ctx: Context<{ mfaToken: string }, ShopMeta>) {
      const user = await pendingSignIn(this, ctx.params.mfaToken);
      if (!user.smsPhone)
        throw conflict("This account has no SMS second factor: use the authenticator app or a recovery code.", "SMS_NOT_ENABLED");
      const sent = await sendCode(this, ctx, user.id, "login", user.smsPhone);
      ctx.meta.$statusCode = 202;
      return sent;
    },
  },

  loginSms: {
    rest: "POST /auth/login/sms",
    access: "public",
    params: { $$strict: true, mfaToken: MFA_TOKEN, code: CODE },
    openapi: { summary: "Second sign-in step by SMS: the code → tokens", more: [401, 429], response: "Tokens" },
    async handler(this: Self, ctx: Context<{ mfaToken: string; code: string }, ShopMeta>) {
      await this.limitAddress(this.limits.loginIp, ctx.meta.ip);
      const user = await pendingSignIn(this, ctx.params.mfaToken);
      await this.limit(this.limits.secondFactor, user.id);
      const check = user.smsPhone ? await checkCode(this, user.id, "login", ctx.params.code) : ({ ok: false, reason: "none" } as const);
      if (!check.ok) throw unauthorized(CODE_PROBLEM[check.reason], "INVALID_SMS_CODE");
      if (!(await this.consumeUserToken(ctx.params.mfaToken, "mfa")))
        throw unauthorized("The sign-in step was already used.", "INVALID_MFA_TOKEN");
      await this.limits.secondFactor.reset(user.id);
      return completeSignIn(this, ctx, user);
    },
  },
};
