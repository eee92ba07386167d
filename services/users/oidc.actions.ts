/**
 * Sign in with an OpenID Connect provider (OIDC_PROVIDERS; integrations/oidc/):
 *
 *   GET /auth/oidc                       the configured providers (for sign-in buttons)
 *   GET /auth/oidc/{provider}            302 to the provider, with PKCE (S256), state and nonce;
 *                                        a cookie ties the sign-in to this browser
 *   GET /auth/oidc/{provider}/callback   the provider's answer → the shop's own tokens, or the
 *                                        second step ({mfaRequired, mfaToken, methods}) for an
 *                                        account with a second factor, exactly as /auth/login
 *
 * The flow's secrets stay on the server (`oidc_flows`): the hash of its state, the sealed PKCE
 * verifier, the nonce, and the hash of the browser cookie; a flow lives ten minutes and is used
 * once, so a tampered state, a replayed callback or a callback opened in another browser is
 * refused before the provider is asked anything.
 *
 * Whose account: the identity linked before (provider + subject), else the account with the
 * same e-mail address if the provider says it verified it (the identity is linked), else a new
 * account. An address the provider has not verified links and creates nothing (403). When the
 * existing account had never verified its address, whoever registered it may not be its owner
 * ("pre-hijacking"): its password, sessions and second factors are reset as the link is made.
 */
import { randomUUID } from "node:crypto";
import { Op, UniqueConstraintError } from "sequelize";
import { Errors, type Context, type ActionSchema } from "moleculer";
import type { ShopMeta } from "../../types/moleculer.d.ts";
import { getConfig } from "../../lib/config.ts";
import { forbidden, notFound, unauthorized } from "../../lib/errors.ts";
import { normalizeEmail } from "../../domain/user-rules.ts";
import {
  deriveKey,
  hashPassword,
  hashToken,
  openSecret,
  randomToken,
  safeEqual,
  sealSecret,
} from "../../integrations/authentication/index.ts";
import { OidcError, OidcProvider, type OidcIdentity } from "../../integrations/oidc/index.ts";
import type { UsersSelf, UserRow } from "./methods.ts";
import { signInModels } from "./sign-in.models.ts";
import { afterFirstFactor } from "./second-factor.ts";

type Self = UsersSelf;
type Action = ActionSchema<Self>;
const cfg = getConfig();

/** Seals the PKCE verifiers of flows in progress. */
const FLOW_KEY = deriveKey(cfg.auth.secretsKey, "shop oidc flows v1");
const FLOW_TTL_SEC = 600;
const PROVIDER = { type: "string", min: 1, max: 32 } as const;

const providers = new Map(cfg.oidc.providers.map((p) => [p.id, { config: p, rp: new OidcProvider(p) }]));

function providerOf(id: string) {
  const provider = providers.get(id);
  if (!provider) throw notFound("OpenID provider", id);
  return provider;
}

const cookieName = (provider: string) => `shop_oidc_${provider}`;

/** The cookie that ties a flow to its browser: sent back to the callback only. */
function flowCookie(redirectUri: string, provider: string, value: string, maxAgeSec: number): string {
  const url = new URL(redirectUri);
  const secure = url.protocol === "https:" ? "; Secure" : "";
  return `${cookieName(provider)}=${value}; Path=${url.pathname}; Max-Age=${maxAgeSec}; HttpOnly; SameSite=Lax${secure}`;
}

function readCookie(header: string | undefined, name: string): string | null {
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** OidcError → what the person gets: 503 for the provider's trouble, 401 for a refused sign-in. */
function refusal(err: OidcError): Error {
  if (err.reason === "unavailable")
    return new Errors.MoleculerError(
      `Signing in with this provider is not possible right now: ${err.message}`,
      503,
      "OIDC_PROVIDER_UNAVAILABLE",
    );
  return unauthorized(err.message, err.reason === "denied" ? "OIDC_DENIED" : "OIDC_INVALID");
}

/** The name an account gets from the provider's claims: the name, else the address's local part. */
function displayName(identity: OidcIdentity, email: string): string {
  const name = (identity.name ?? "").replace(/[\u0000-\u001f\u007f]/g, "").trim();
  return (name || email.slice(0, email.indexOf("@"))).slice(0, 100) || "Customer";
}

/**
 * The account of `identity` at `provider`, linked or created (see the header). Returns the row
 * as it is after the change.
 */
async function accountFor(self: Self, ctx: Context<unknown, ShopMeta>, provider: string, identity: OidcIdentity): Promise<UserRow> {
  const { identities } = signInModels(self.adapter.db);
  const linked = await identities.findOne({ where: { provider, subject: identity.subject } });
  if (linked) {
    await identities.update({ lastSignInAt: new Date(), email: identity.email }, { where: { id: linked.get("id") as string } });
    const row = await self.adapter.model.findByPk(linked.get("userId") as string);
    if (!row) throw unauthorized("The account linked to this sign-in no longer exists.", "OIDC_INVALID");
    return self.plain(row);
  }
  if (!identity.email || !identity.emailVerified) {
    throw forbidden(
      `${provider} has not verified this e-mail address, so it cannot sign in to or create an account here.`,
      "OIDC_EMAIL_UNVERIFIED",
    );
  }
  const email = normalizeEmail(identity.email);
  const existing = await self.findByEmail(email);
  // A password nobody knows: the account signs in through the provider (or after a password reset).
  const unusablePassword = await hashPassword(randomToken(32));
  return self.inTransaction(ctx, async (transaction) => {
    let user: UserRow;
    if (existing) {
      user = self.plain(existing);
      if (!user.emailVerified) {
        const reset = {
          emailVerified: true,
          passwordHash: unusablePassword,
          totpEnabled: false,
          totpSecret: null,
          totpLastStep: null,
          recoveryCodes: null,
          smsPhone: null,
        };
        await self.adapter.model.update(reset, { where: { id: user.id }, transaction });
        await self.revokeSessions(user.id, undefined, transaction);
        self.logger.info(
          `Account ${user.id}: its unverified address was proven through ${provider}; password, sessions and second factors reset.`,
        );
        user = { ...user, ...reset };
      }
    } else {
      const created = await self.adapter.model.create(
        { email, name: displayName(identity, email), passwordHash: unusablePassword, role: "user", emailVerified: true },
        { transaction },
      );
      user = self.plain(created);
      await self.emitDurable(
        ctx,
        "user.registered",
        { user: self.userView(user), via: provider },
        `user.registered:${user.id}`,
        transaction,
      );
    }
    await identities.create(
      { userId: user.id, provider, subject: identity.subject, email: identity.email, lastSignInAt: new Date() },
      { transaction },
    );
    return user;
  });
}

export const oidcActions: Record<string, Action> = {
  oidcProviders: {
    rest: "GET /auth/oidc",
    access: "public",
    params: { $$strict: true },
    openapi: { summary: "The OpenID Connect providers one can sign in with", response: "OidcProviders" },
    handler() {
      return {
        providers: [...providers.values()].map(({ config }) => ({ id: config.id, name: config.name, url: `/api/auth/oidc/${config.id}` })),
      };
    },
  },

  oidcStart: {
    rest: "GET /auth/oidc/:provider",
    access: "public",
    params: { $$strict: true, provider: PROVIDER },
    openapi: { summary: "Sign in with an OpenID provider: a redirect to it (PKCE, state, nonce)", success: [302], more: [429, 503] },
    async handler(this: Self, ctx: Context<{ provider: string }, ShopMeta>) {
      const { config, rp } = providerOf(ctx.params.provider);
      await this.limitAddress(this.limits.loginIp, ctx.meta.ip);
      let begun;
      try {
        begun = await rp.begin();
      } catch (err) {
        throw err instanceof OidcError ? refusal(err) : err;
      }
      const browser = randomToken(32);
      const { oidcFlows } = signInModels(this.adapter.db);
      await oidcFlows.destroy({ where: { expiresAt: { [Op.lt]: new Date() } } });
      await oidcFlows.create({
        id: randomUUID(),
        provider: config.id,
        stateHash: hashToken(begun.state),
        browserHash: hashToken(browser),
        codeVerifier: sealSecret(begun.codeVerifier, FLOW_KEY),
        nonce: begun.nonce,
        expiresAt: new Date(Date.now() + FLOW_TTL_SEC * 1000),
      });
      ctx.meta.$statusCode = 302;
      ctx.meta.$location = begun.url;
      ctx.meta.$responseHeaders = {
        "Set-Cookie": flowCookie(config.redirectUri, config.id, browser, FLOW_TTL_SEC),
        "Cache-Control": "no-store",
      };
      return null;
    },
  },

  oidcCallback: {
    rest: "GET /auth/oidc/:provider/callback",
    access: "public",
    cookies: true,
    // A GET that is not safe to run twice: it spends the flow and the provider's one-time code
    // (a retry after a timeout would be refused and hide what the first attempt did).
    idempotent: false,
    // The provider adds what it likes (session_state, scope, authuser, …): no $$strict here.
    params: {
      provider: PROVIDER,
      state: { type: "string", max: 512, optional: true },
      code: { type: "string", max: 4096, optional: true },
      iss: { type: "string", max: 512, optional: true },
      error: { type: "string", max: 256, optional: true },
      error_description: { type: "string", max: 1024, optional: true },
    },
    openapi: {
      summary: "Where the OpenID provider sends the browser back: tokens, or the second sign-in step",
      more: [401, 403, 429, 503],
      // As POST /auth/login answers.
      response: { oneOf: [{ $ref: "#/components/schemas/Tokens" }, { $ref: "#/components/schemas/SecondFactorRequired" }] },
    },
    async handler(this: Self, ctx: Context<Record<string, unknown> & { provider: string; state?: string }, ShopMeta>) {
      const { config, rp } = providerOf(ctx.params.provider);
      await this.limitAddress(this.limits.loginIp, ctx.meta.ip);
      const { oidcFlows } = signInModels(this.adapter.db);
      ctx.meta.$responseHeaders = { "Cache-Control": "no-store", Pragma: "no-cache" };
      const state = typeof ctx.params.state === "string" ? ctx.params.state : "";
      const flow = state ? await oidcFlows.findOne({ where: { stateHash: hashToken(state), provider: config.id } }) : null;
      const f = flow?.get({ plain: true }) as
        { id: string; browserHash: string; codeVerifier: string; nonce: string; expiresAt: Date; usedAt: Date | null } | undefined;
      if (!f || f.usedAt || new Date(f.expiresAt) <= new Date())
        throw unauthorized("This sign-in is not known, has expired or was already used: start again.", "OIDC_INVALID_STATE");
      if (!safeEqual(hashToken(readCookie(ctx.meta.cookie, cookieName(config.id)) ?? ""), f.browserHash)) {
        throw unauthorized("This sign-in was started in another browser: start again here.", "OIDC_INVALID_STATE");
      }
      const [claimed] = await oidcFlows.update({ usedAt: new Date() }, { where: { id: f.id, usedAt: null } });
      if (claimed !== 1) throw unauthorized("This sign-in was already used: start again.", "OIDC_INVALID_STATE");
      // This browser's flow is spent, whatever the provider's answer turns out to be.
      ctx.meta.$responseHeaders["Set-Cookie"] = flowCookie(config.redirectUri, config.id, "", 0);

      // The callback's parameters as they came (the provider's own ones included), for openid-client's checks.
      const query = new URLSearchParams();
      for (const [key, value] of Object.entries(ctx.params)) if (key !== "provider" && typeof value === "string") query.set(key, value);
      let identity: OidcIdentity;
      try {
        identity = await rp.finish(query, { state, nonce: f.nonce, codeVerifier: openSecret(f.codeVerifier, FLOW_KEY) });
      } catch (err) {
        if (!(err instanceof OidcError)) throw err;
        if (err.reason === "unavailable") this.logger.warn(`OpenID sign-in through ${config.id} failed: ${err.message}`);
        else this.logger.info(`OpenID sign-in through ${config.id} refused: ${err.message}`);
        throw refusal(err);
      }

      let user: UserRow;
      try {
        user = await accountFor(this, ctx, config.id, identity);
      } catch (err) {
        // Two first sign-ins of the same person at once: the other one linked or created it; use that.
        if (!(err instanceof UniqueConstraintError)) throw err;
        user = await accountFor(this, ctx, config.id, identity);
      }
      if (!user.active) throw forbidden("This account is deactivated.", "ACCOUNT_INACTIVE");
      await this.clearCache();
      return afterFirstFactor(this, ctx, user);
    },
  },
};
