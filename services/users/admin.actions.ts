/**
 * Staff routes: /api/users (admins manage users; only superusers manage roles) and
 * /api/clients (API clients for the OAuth 2.0 client-credentials grant).
 */
import type { Context, ActionSchema } from "moleculer";
import type { ShopMeta } from "../../types/moleculer.d.ts";
import { Op, type WhereOptions } from "sequelize";
import { ROLES, type Role } from "../../lib/access.ts";
import { Errors } from "moleculer";
import { forbidden, invalid, notFound } from "../../lib/errors.ts";
import { isUuid, PAGE_PARAMS } from "../../lib/listing.ts";
import { adminChangeRefusal, clientRoleRefusal, effectiveClientRole, mayManageClient, type Refusal } from "../../domain/user-rules.ts";
import { randomToken, hashToken, hashPassword, passwordProblem } from "../../integrations/authentication/index.ts";
import { normalizeEmail } from "../../domain/user-rules.ts";
import { avatarHolder } from "../../domain/images.ts";
import type { UsersSelf } from "./methods.ts";
import { NEW_EMAIL } from "./auth.actions.ts";
import { removeSignInRows } from "./sign-in.models.ts";

type Self = UsersSelf;
type Action = ActionSchema<Self>;
const ID = { type: "string", max: 64 } as const;
const ROLE = { type: "enum", values: [...ROLES] } as const;
/** What staff may change of an account. */
type UserChanges = { name?: string; role?: Role; active?: boolean; emailVerified?: boolean };

function refuse(refusal: Refusal): never {
  throw new Errors.MoleculerClientError(refusal.message, refusal.status, refusal.type);
}

async function target(self: Self, id: string) {
  const row = await self.findRow(id);
  if (!row) throw notFound("User", id);
  return self.plain(row);
}

export const adminActions: Record<string, Action> = {
  /** Bootstrapping: `npm run createsuperuser` and the REPL's `createsuperuser` command. */
  createSuperuser: {
    access: "internal",
    visibility: "public",
    params: {
      $$strict: true,
      email: NEW_EMAIL,
      password: { type: "string", min: 1, max: 1024 },
      name: { type: "string", trim: true, min: 1, max: 100, optional: true },
    },
    async handler(this: Self, ctx: Context<{ email: string; password: string; name?: string }, ShopMeta>) {
      const email = normalizeEmail(ctx.params.email);
      const name = ctx.params.name ?? "Administrator";
      const problem = passwordProblem(ctx.params.password, { email, name });
      if (problem) throw invalid("password", problem, "passwordPolicy");
      return this.insertEntity(ctx, {
        email,
        name,
        passwordHash: await hashPassword(ctx.params.password),
        role: "superuser",
        emailVerified: true,
      });
    },
  },

  list: {
    rest: "GET /users",
    access: "admin",
    params: {
      $$strict: true,
      ...PAGE_PARAMS,
      search: { type: "string", max: 200, optional: true },
      role: { ...ROLE, optional: true },
      active: { type: "boolean", convert: true, optional: true },
    },
    async handler(
      this: Self,
      ctx: Context<{ page?: number; pageSize?: number; sort?: string; search?: string; role?: Role; active?: boolean }>,
    ) {
      const { page, pageSize, sort, search, role, active } = ctx.params;
      const where: Record<string, unknown> = {};
      if (role) where.role = role;
      if (active !== undefined) where.active = active;
      const result = await this.findPage({ page, pageSize, sort, search, where: where as WhereOptions });
      return result;
    },
  },

  get: {
    rest: "GET /users/:id",
    access: "admin",
    params: { $$strict: true, id: ID },
    async handler(this: Self, ctx: Context<{ id: string }>) {
      return this.userView(await target(this, ctx.params.id));
    },
  },

  update: {
    rest: "PATCH /users/:id",
    access: "admin",
    params: {
      $$strict: true,
      id: ID,
      name: { type: "string", trim: true, min: 1, max: 100, optional: true },
      role: { ...ROLE, optional: true },
      active: { type: "boolean", optional: true },
      emailVerified: { type: "boolean", optional: true },
    },
    async handler(this: Self, ctx: Context<UserChanges & { id: string }, ShopMeta>) {
      const { id, ...changes } = ctx.params;
      if (Object.keys(changes).length === 0) throw invalid("body", "Send at least one field to change.", "required");
      const user = await target(this, id);
      const refusal = adminChangeRefusal(ctx.meta.user!, user, changes, await this.activeSuperusers());
      if (refusal) refuse(refusal);
      const updated = await this.updateEntity(ctx, id, changes);
      // Deactivation or a new role ends every session at once.
      if (changes.active === false || (changes.role && changes.role !== user.role)) await this.revokeSessions(id);
      return this.userView({ ...user, ...updated });
    },
  },

  remove: {
    rest: "DELETE /users/:id",
    access: "admin",
    params: { $$strict: true, id: ID },
    async handler(this: Self, ctx: Context<{ id: string }, ShopMeta>) {
      const user = await target(this, ctx.params.id);
      const refusal = adminChangeRefusal(ctx.meta.user!, user, { delete: true }, await this.activeSuperusers());
      if (refusal) refuse(refusal);
      await this.inTransaction(ctx, async (transaction, emitAfterCommit) => {
        await this.models.sessions.destroy({ where: { userId: user.id }, transaction });
        await this.models.userTokens.destroy({ where: { userId: user.id }, transaction });
        // The account's API clients go with it: their tokens stop working at once.
        await this.models.clients.destroy({ where: { createdBy: user.id }, transaction });
        await removeSignInRows(this.adapter.db, user.id, transaction); // SMS codes, linked OpenID identities
        await this.adapter.model.destroy({ where: { id: user.id }, transaction });
        emitAfterCommit("users.removed", this.userView(user));
        // Durable: storage deletes the account's files, also if it is down right now.
        await this.emitDurable(ctx, "user.removed", { user: { id: user.id } }, `user.removed:${user.id}`, transaction);
      });
      // Avatars: the account's picture is no longer shown; the storage service may unpublish it.
      if (user.avatarFileId) {
        await ctx
          .call("storage.unlinkHolder", { holder: avatarHolder(user.id) }, { retries: 0 })
          .catch((err: unknown) => this.logger.warn(`Could not release the avatar of removed user ${user.id}:`, err));
      }
      ctx.meta.$statusCode = 204;
      return null;
    },
  },

  createClient: {
    rest: "POST /clients",
    access: "admin",
    params: { $$strict: true, name: { type: "string", trim: true, min: 1, max: 100 }, role: { ...ROLE, optional: true } },
    async handler(this: Self, ctx: Context<{ name: string; role?: Role }, ShopMeta>) {
      const role = ctx.params.role ?? "user";
      const refusal = clientRoleRefusal(ctx.meta.user!, role);
      if (refusal) refuse(refusal);
      const clientId = `cli_${randomToken(16)}`;
      const clientSecret = randomToken(32);
      const row = await this.models.clients.create({
        name: ctx.params.name,
        clientId,
        secretHash: hashToken(clientSecret),
        role,
        createdBy: ctx.meta.user!.id,
      });
      const c = row.get({ plain: true }) as { id: string; name: string; role: string; active: boolean; createdAt: Date };
      ctx.meta.$statusCode = 201;
      // The secret is shown this once; only its hash is kept.
      return { id: c.id, name: c.name, clientId, clientSecret, role: c.role, active: c.active, createdAt: c.createdAt };
    },
  },

  /** Own clients (a superuser: everyone's), each with the role it acts with now (`effectiveRole`). */
  listClients: {
    rest: "GET /clients",
    access: "admin",
    params: {
      $$strict: true,
      page: PAGE_PARAMS.page,
      pageSize: PAGE_PARAMS.pageSize,
    },
    async handler(this: Self, ctx: Context<{ page?: number; pageSize?: number }, ShopMeta>) {
      const actor = ctx.meta.user!;
      if (actor.client) throw forbidden("API clients cannot manage API clients.");
      const page = await this.pageOf(this.models.clients, {
        ...ctx.params,
        ...(actor.role === "superuser" ? {} : { where: { createdBy: actor.id } }),
        attributes: ["id", "name", "clientId", "role", "active", "createdBy", "lastUsedAt", "createdAt", "updatedAt"],
        order: [
          ["createdAt", "DESC"],
          ["id", "ASC"],
        ],
      });
      const creatorIds = [...new Set(page.rows.map((c) => c.createdBy as string))];
      const creators = creatorIds.length
        ? await this.adapter.model.findAll({ where: { id: { [Op.in]: creatorIds } }, attributes: ["id", "role", "active"] })
        : [];
      const byId = new Map(creators.map((r) => [r.get("id") as string, r.get({ plain: true }) as { role: Role; active: boolean }]));
      const rows = page.rows.map((c) => ({
        ...c,
        effectiveRole: c.active ? effectiveClientRole(c.role as Role, byId.get(c.createdBy as string) ?? null) : null,
      }));
      return { ...page, rows };
    },
  },

  /** Its creator or a superuser deletes a client; to anyone else it does not exist (404). */
  removeClient: {
    rest: "DELETE /clients/:id",
    access: "admin",
    params: { $$strict: true, id: ID },
    async handler(this: Self, ctx: Context<{ id: string }, ShopMeta>) {
      const actor = ctx.meta.user!;
      if (actor.client) throw forbidden("API clients cannot manage API clients.");
      const row = isUuid(ctx.params.id) ? await this.models.clients.findByPk(ctx.params.id) : null;
      if (!row || !mayManageClient(actor, row.get("createdBy") as string)) throw notFound("Client", ctx.params.id);
      await this.models.clients.destroy({ where: { id: { [Op.eq]: row.get("id") as string } } });
      await this.clearCache();
      ctx.meta.$statusCode = 204;
      return null;
    },
  },
};
