/**
 * Avatars: a signed-in person shows one of their own uploaded images as their picture
 * (`PUT /api/users/me/avatar {fileId}`) or none (`DELETE /api/users/me/avatar`). The storage
 * service checks the file (the caller's, ready, an image: anyone else's is "not found") and
 * keeps it public while it is an avatar (holder `avatar:<userId>`, domain/images.ts), so
 * `avatarUrl` works in an `<img>` without credentials. Profiles carry `avatarFileId` and
 * `avatarUrl` (methods.ts, userView).
 *
 * `files.removed` (one replica, balanced group "users"): the avatar is cleared, idempotently.
 * A removal nobody heard leaves the id in the profile until the next avatar change (its URL
 * then answers 404, like any missing file).
 */
import type { Context, ActionSchema } from "moleculer";
import type { ShopMeta } from "../../types/moleculer.d.ts";
import { forbidden, notFound } from "../../lib/errors.ts";
import { isUuid } from "../../lib/listing.ts";
import { avatarHolder } from "../../domain/images.ts";
import type { UsersSelf, UserRow } from "./methods.ts";

type Self = UsersSelf;

/** The caller's own account id; API clients have none. */
function ownId(ctx: Context<unknown, ShopMeta>): string {
  const principal = ctx.meta.user;
  if (!principal || principal.client) throw forbidden("API clients have no user account.");
  return principal.id;
}

/**
 * Set the caller's avatar to `fileId` (null: none) under a lock on their row, so concurrent
 * changes take turns; returns the previous avatar and the account as it is now.
 */
async function swapAvatar(self: Self, ctx: Context<unknown, ShopMeta>, userId: string, fileId: string | null) {
  return self.inTransaction(ctx, async (transaction, emitAfterCommit) => {
    const row = await self.adapter.model.findByPk(userId, { transaction, lock: transaction.LOCK.UPDATE });
    if (!row) throw notFound("User");
    const previous = (row.get("avatarFileId") as string | null) ?? null;
    if (previous !== fileId) {
      await row.update({ avatarFileId: fileId }, { transaction });
      emitAfterCommit("users.updated", self.userView(row));
    }
    return { previous, user: self.plain(row) };
  });
}

/** The old picture is no longer shown: the storage service may unpublish it. */
async function release(self: Self, ctx: Context, fileId: string, userId: string) {
  await ctx
    .call("storage.unlink", { id: fileId, holder: avatarHolder(userId) })
    .catch((err: unknown) => self.logger.warn(`Could not release the old avatar ${fileId} of user ${userId}:`, err));
}

export const avatarActions: Record<string, ActionSchema<Self>> = {
  setAvatar: {
    rest: "PUT /users/me/avatar",
    access: "authenticated",
    params: { $$strict: true, fileId: { type: "uuid" } },
    async handler(this: Self, ctx: Context<{ fileId: string }, ShopMeta>) {
      const userId = ownId(ctx);
      const fileId = ctx.params.fileId.toLowerCase();
      const linked = await ctx.call<{ created: boolean }, object>("storage.link", {
        id: fileId,
        holder: avatarHolder(userId),
        ownerId: userId,
      });
      let result: { previous: string | null; user: UserRow };
      try {
        result = await swapAvatar(this, ctx, userId, fileId);
      } catch (err) {
        if (linked.created) await release(this, ctx, fileId, userId);
        throw err;
      }
      if (result.previous && result.previous !== fileId) await release(this, ctx, result.previous, userId);
      return this.userView(result.user);
    },
  },

  removeAvatar: {
    rest: "DELETE /users/me/avatar",
    access: "authenticated",
    params: { $$strict: true },
    async handler(this: Self, ctx: Context<unknown, ShopMeta>) {
      const userId = ownId(ctx);
      const { previous } = await swapAvatar(this, ctx, userId, null);
      if (previous) await release(this, ctx, previous, userId);
      ctx.meta.$statusCode = 204;
      return null;
    },
  },
};

/** Handled by one replica of the users service (a balanced group), not by every one. */
export const onAvatarFileRemoved = {
  group: "users",
  async handler(this: Self, ctx: Context<{ file?: { id?: unknown } }>) {
    const fileId = ctx.params?.file?.id;
    if (!isUuid(fileId)) return;
    const [cleared] = await this.adapter.model.update({ avatarFileId: null }, { where: { avatarFileId: fileId.toLowerCase() } });
    if (cleared) {
      await this.clearCache();
      this.logger.info(`File ${fileId} was removed: cleared as the avatar of ${cleared} user(s).`);
    }
  },
};
