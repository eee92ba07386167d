/**
 * What every way of signing in shares once the first factor has passed (a password, or an
 * OpenID provider): the account's second factors, and the answer: a token pair, or the second
 * step (`mfaRequired`, a short-lived `mfaToken`, and the methods that can finish it).
 */
import type { Context } from "moleculer";
import type { ShopMeta } from "../../types/moleculer.d.ts";
import { maskPhoneNumber } from "../../domain/phone-numbers.ts";
import type { TokenPair, UserRow, UsersSelf } from "./methods.ts";

type Self = UsersSelf;

export type SecondFactorMethod = "totp" | "sms" | "recovery";

export interface SecondStep {
  mfaRequired: true;
  mfaToken: string;
  /** totp: POST /auth/login/totp; sms: POST /auth/login/sms/send, then /auth/login/sms; recovery: /auth/login/totp. */
  methods: SecondFactorMethod[];
  /** Where an SMS code would go, masked (only with "sms"). */
  smsPhoneNumber?: string;
}

function recoveryCodesLeft(user: UserRow): number {
  try {
    return user.recoveryCodes ? (JSON.parse(user.recoveryCodes) as string[]).length : 0;
  } catch {
    return 0;
  }
}

/** The second factors an account has on, in the order a client should offer them. */
export function secondFactorMethods(user: UserRow): SecondFactorMethod[] {
  const methods: SecondFactorMethod[] = [];
  if (user.totpEnabled) methods.push("totp");
  if (user.smsPhone) methods.push("sms");
  if (methods.length > 0 && recoveryCodesLeft(user) > 0) methods.push("recovery");
  return methods;
}

export function hasSecondFactor(user: UserRow): boolean {
  return user.totpEnabled || !!user.smsPhone;
}

/**
 * Signed in (every factor the account has passed), whichever way: the client's address becomes
 * one the account knows, the client gets a device token (its `shop_device` cookie, added to any
 * cookie the action already sets) and a new session, whose id every access token carries.
 */
export async function completeSignIn(self: Self, ctx: Context<unknown, ShopMeta>, user: UserRow): Promise<TokenPair> {
  await self.signedIn(user, ctx.meta.ip);
  const headers = (ctx.meta.$responseHeaders ??= {});
  const earlier = headers["Set-Cookie"];
  const device = self.deviceCookie(user);
  headers["Set-Cookie"] = earlier === undefined ? device : [earlier, device].flat();
  return self.openSession(ctx, user);
}

/** The first factor passed: a session, or the second step when the account has one. */
export async function afterFirstFactor(self: Self, ctx: Context<unknown, ShopMeta>, user: UserRow): Promise<TokenPair | SecondStep> {
  if (!hasSecondFactor(user)) return completeSignIn(self, ctx, user);
  const methods = secondFactorMethods(user);
  return {
    mfaRequired: true,
    mfaToken: await self.createUserToken(user.id, "mfa"),
    methods,
    ...(user.smsPhone ? { smsPhoneNumber: maskPhoneNumber(user.smsPhone) } : {}),
  };
}

/** GET /auth/2fa: which second factors are on (no secrets; the number masked). */
export function secondFactorStatus(user: UserRow) {
  return {
    enabled: hasSecondFactor(user),
    totp: user.totpEnabled,
    sms: user.smsPhone ? { phoneNumber: maskPhoneNumber(user.smsPhone) } : null,
    recoveryCodesLeft: hasSecondFactor(user) ? recoveryCodesLeft(user) : 0,
  };
}
