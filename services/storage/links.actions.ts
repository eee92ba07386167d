/**
 * Files other services show: product images and avatars (domain/images.ts).
 *
 * A holder (`product:<id>`, `avatar:<userId>`) links a file with `link` and lets go with
 * `unlink`; the `file_links` table (migration 0007) records who holds what, and `files.public`
 * is true exactly while at least one link exists. Both change in one transaction that first
 * locks the file's row, so concurrent link/unlink/remove of one file take turns and the flag
 * never disagrees with the links. Public files can be downloaded by anyone (storage.get);
 * `publicIds` tells other services which of their ids are still viewable.
 *
 * Internal actions only: the products and users services call them, never HTTP.
 */
import type { ActionSchema, Context, Service } from "moleculer";
import { DataTypes, Op, type Model, type ModelStatic, type Sequelize, type Transaction } from "sequelize";
import { invalid } from "../../lib/errors.ts";
import { isUuid } from "../../lib/listing.ts";
import type { DbMethods, DbVars } from "../../mixins/db.mixin.ts";
import { attachRefusal, HOLDER_PATTERN, type FileFacts } from "../../domain/images.ts";
import type { StorageSettings, StoredFile } from "./files.ts";

export interface LinkMethods extends DbMethods<StoredFile> {
  releaseLink(fileId: string, holder: string): Promise<{ unlinked: boolean; public: boolean }>;
}
export interface LinkVars extends DbVars {
  /** The link ledger (defineLinks). */
  links: ModelStatic<Model>;
}
type Self = Service<StorageSettings> & LinkMethods & LinkVars;

/** The link ledger's model, on the storage service's own connection. */
export function defineLinks(db: Sequelize): ModelStatic<Model> {
  return db.define(
    "file_links",
    {
      fileId: { type: DataTypes.UUID, primaryKey: true },
      holder: { type: DataTypes.STRING(100), primaryKey: true },
    },
    { tableName: "file_links", timestamps: true, freezeTableName: true },
  );
}

const ID = { type: "string", max: 64 } as const;
const HOLDER = { type: "string", pattern: HOLDER_PATTERN } as const;

/** The file's row, locked for the rest of the transaction (PostgreSQL; SQLite runs one writer anyway). */
async function lockFile(self: Self, id: string, transaction: Transaction) {
  if (!isUuid(id)) return null;
  const row = await self.adapter.model.findByPk(id, { transaction, lock: transaction.LOCK.UPDATE });
  return row ? (row.get({ plain: true }) as FileFacts & { public: boolean }) : null;
}

export const linkMethods = {
  /** Drop one link; the file stops being public when it was the last. Idempotent. */
  async releaseLink(this: Self, fileId: string, holder: string): Promise<{ unlinked: boolean; public: boolean }> {
    if (!isUuid(fileId)) return { unlinked: false, public: false };
    return this.adapter.db.transaction(async (transaction) => {
      const file = await lockFile(this, fileId, transaction);
      const unlinked = await this.links.destroy({ where: { fileId, holder }, transaction });
      const remaining = await this.links.count({ where: { fileId }, transaction });
      if (file?.public && remaining === 0) await this.adapter.model.update({ public: false }, { where: { id: fileId }, transaction });
      return { unlinked: unlinked > 0, public: !!file && remaining > 0 };
    });
  },
};

export const linkActions: Record<string, ActionSchema<Self>> = {
  /**
   * `holder` shows the file: it must be ready and an image (and, with `ownerId`, that
   * user's: anyone else's file is "not found"; with `orProductImage` also a picture some
   * product already shows), else a 422 on `fileId`. Linking twice
   * changes nothing; `created` tells whether this call made the link (for compensation).
   */
  link: {
    access: "internal",
    visibility: "public",
    params: {
      $$strict: true,
      id: ID,
      holder: HOLDER,
      ownerId: { ...ID, optional: true },
      orProductImage: { type: "boolean", optional: true },
    },
    async handler(this: Self, ctx: Context<{ id: string; holder: string; ownerId?: string; orProductImage?: boolean }>) {
      const { id, holder, ownerId, orProductImage } = ctx.params;
      return this.adapter.db.transaction(async (transaction) => {
        const file = await lockFile(this, id, transaction);
        const shownByProduct =
          !!file &&
          !!orProductImage &&
          (await this.links.count({ where: { fileId: file.id, holder: { [Op.like]: "product:%" } }, transaction })) > 0;
        const refusal = attachRefusal(file, { ownerId, shownByProduct });
        if (refusal) throw invalid("fileId", refusal.message, refusal.type);
        const existing = await this.links.findOne({ where: { fileId: file!.id, holder }, transaction });
        if (!existing) await this.links.create({ fileId: file!.id, holder }, { transaction });
        if (!file!.public) await this.adapter.model.update({ public: true }, { where: { id: file!.id }, transaction });
        return { file: this.toPublic({ ...file!, public: true }), created: !existing };
      });
    },
  },

  /** `holder` no longer shows the file. Idempotent; `public` is whether others still do. */
  unlink: {
    access: "internal",
    idempotent: true,
    visibility: "public",
    params: { $$strict: true, id: ID, holder: HOLDER },
    handler(this: Self, ctx: Context<{ id: string; holder: string }>) {
      return this.releaseLink(ctx.params.id, ctx.params.holder);
    },
  },

  /** Everything `holder` shows is released (its product or account is gone). */
  unlinkHolder: {
    access: "internal",
    idempotent: true,
    visibility: "public",
    params: { $$strict: true, holder: HOLDER },
    async handler(this: Self, ctx: Context<{ holder: string }>) {
      const rows = await this.links.findAll({ where: { holder: ctx.params.holder }, attributes: ["fileId"] });
      let released = 0;
      for (const row of rows) if ((await this.releaseLink(row.get("fileId") as string, ctx.params.holder)).unlinked) released++;
      return { released };
    },
  },

  /**
   * Of `ids`, those anyone may view right now (ready and public), in their order: other
   * services leave out ids whose files were removed while they were not listening.
   */
  publicIds: {
    access: "internal",
    idempotent: true,
    visibility: "public",
    params: { $$strict: true, ids: { type: "array", items: ID, max: 1000 } },
    async handler(this: Self, ctx: Context<{ ids: string[] }>) {
      const ids = [...new Set(ctx.params.ids.filter(isUuid))];
      if (!ids.length) return [];
      const rows = await this.adapter.model.findAll({ where: { id: { [Op.in]: ids }, status: "ready", public: true }, attributes: ["id"] });
      const known = new Set(rows.map((r) => r.get("id") as string));
      return ids.filter((id) => known.has(id));
    },
  },
};
